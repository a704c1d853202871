"""Synthetic discharge notes for the drafting tests, written for Hygeia (no real patient; names are invented).

Each note is in a different house style (headed sections with colons, Markdown headings, ALL-CAPS headings,
running prose), so section finding is not tuned to one layout.
"""

PNEUMONIA = """\
DISCHARGE SUMMARY

Patient: Harold Vance    MRN: 4471902    Admitted: 03/02/2024    Discharged: 03/06/2024
Attending: Dr. Lena Ortiz

Chief Complaint: Fever, productive cough and shortness of breath for four days.

History of Present Illness: Mr. Vance is a 71-year-old man with hypertension and hyperlipidemia who presented
with fever to 39.2 C, cough with green sputum and dyspnea on exertion. Chest x-ray showed a right lower lobe
consolidation. He was admitted for community-acquired pneumonia.

Allergies: Penicillin (hives).

Hospital Course: He was treated with IV ceftriaxone and azithromycin. Blood cultures were negative. WBC was
15.2 K/uL (H) on admission and 9.1 K/uL at discharge. Potassium was 3.1 mmol/L (L) on day two and was repleted
orally. A CT of the chest showed an incidental 7 mm nodule in the right upper lobe. He was switched to oral
doxycycline on day three, his oxygen was weaned to room air, and he remained afebrile for 48 hours.

Discharge Medications:
1. Doxycycline 100 mg by mouth twice daily for 5 more days.
2. Metoprolol tartrate 25 mg by mouth twice daily.
3. Atorvastatin 40 mg by mouth at bedtime.
4. Lisinopril 10 mg by mouth daily.

Follow-up: See his primary care physician, Dr. Amy Chen, in one week. Recheck potassium at that visit.
Repeat CT chest in 3 months to follow up the right upper lobe nodule.
"""

# The same patient, but the team prescribed Augmentin (a penicillin) despite the listed penicillin allergy,
# and the low potassium and the nodule have no follow-up planned.
PNEUMONIA_UNSAFE = PNEUMONIA.replace(
    "1. Doxycycline 100 mg by mouth twice daily for 5 more days.",
    "1. Augmentin 875 mg by mouth twice daily for 5 more days.",
).replace(
    "Recheck potassium at that visit.\nRepeat CT chest in 3 months to follow up the right upper lobe nodule.\n", ""
).replace("He was switched to oral\ndoxycycline on day three", "He was switched to oral\nAugmentin on day three")

HEART_FAILURE = """\
# Discharge Summary

## Reason for Admission
Shortness of breath and leg swelling for one week. Admitted with acute on chronic systolic heart failure
(ejection fraction 30 %).

## Allergies
Sulfa drugs (rash).

## Hospital Course
She was diuresed with IV furosemide 40 mg twice daily with 4.2 kg of weight loss. Creatinine rose from 1.0 to
1.2 mg/dL and then stabilised. Sodium was 138 mmol/L and potassium 4.4 mmol/L at discharge. Echocardiogram
showed an ejection fraction of 30 % without new wall-motion abnormality. Carvedilol was continued and
spironolactone was started.

## Discharge Medications
- Furosemide 40 mg by mouth daily
- Carvedilol 12.5 mg by mouth twice daily
- Spironolactone 25 mg by mouth daily
- Sacubitril/valsartan 24/26 mg by mouth twice daily
- Amoxicillin 500 mg by mouth three times daily for 3 days (dental prophylaxis course already begun)

## Follow-up
Heart failure clinic in 7 days with a basic metabolic panel. Weigh yourself every morning and call if you
gain more than 2 kg in 3 days.
"""

# A summary a careful clinician could have written from HEART_FAILURE: every drug, and the follow-up plan.
HEART_FAILURE_SUMMARY = """\
Reason for admission:
Acute on chronic systolic heart failure with one week of dyspnoea and leg swelling.

Hospital course:
Diuresed with IV furosemide with 4.2 kg weight loss; creatinine peaked at 1.2 mg/dL. Spironolactone started.

Discharge medications:
Furosemide 40 mg daily, carvedilol 12.5 mg twice daily, spironolactone 25 mg daily, sacubitril/valsartan
24/26 mg twice daily, amoxicillin 500 mg three times daily for 3 days.

Follow-up:
Heart failure clinic in 7 days with a basic metabolic panel; daily weights.
"""

ELECTROLYTES = """\
Reason for admission: dehydration after three days of vomiting and diarrhea.
Hospital course: She received IV fluids. Potassium was 5.9 mmol/L on arrival and 4.8 mmol/L the next day.
Hemoglobin was 9.1 g/dL, stable compared with her baseline. She tolerated a regular diet.
Discharge medications: ondansetron 4 mg by mouth every 8 hours as needed for nausea.
Follow-up: Recheck potassium and hemoglobin with her GP in one week.
"""

CONVERSATION = """\
Doctor: Good morning. What brings you in today?
Patient: I've had a burning pain in my stomach for about three weeks, mostly after meals.
Doctor: Any vomiting, black stools or weight loss?
Patient: No, none of that.
Doctor: Are you taking anything for pain?
Patient: Yes, ibuprofen 400 mg two or three times a day for my knee.
Doctor: That can irritate the stomach. I'd like you to stop the ibuprofen and start omeprazole 20 mg once a day
before breakfast. We will check for H. pylori with a breath test.
Patient: Okay. What can I take for my knee instead?
Doctor: Acetaminophen 500 mg up to three times a day is fine. Come back in four weeks, or sooner if you see black
stools or vomit blood.
"""
