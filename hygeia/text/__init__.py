"""Clinical text: LLM backends behind one interface, clinical drafting tasks, and the grounding check
that ties every drafted sentence to the source record."""
