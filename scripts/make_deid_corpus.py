"""Write Hygeia's de-identification evaluation corpus (PhysioNet deid format) from a fixed seed.

    nice -n 19 .venv/bin/python scripts/make_deid_corpus.py            # writes hygeia/privacy/corpus/{dev,test}.*
    nice -n 19 .venv/bin/python scripts/make_deid_corpus.py --out /tmp/c --seed 7 --per-style 10 14

Seven note styles, each assembled from section banks of template variants; every bank is split by
position (even -> dev, odd -> test), as are the hand-written value lists (cities, eponyms, drugs,
...), so no template sentence and no listed value of the test split appears in dev. Values come from
Faker (MIT) with seeded instances in several locales. Gold labels are i2b2-2014 TYPEs plus RELATIVE;
states and countries are written as don't-care spans; ages up to 89, bare years, room numbers, times
and relative days ("yesterday") are deliberately NOT annotated: they must stay. Output is identical
for the same seed and Faker version (see hygeia/privacy/corpus/README.md).
"""

from __future__ import annotations

import argparse
import random
import string
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from faker import Faker

from hygeia.privacy.deid_formats import AnnotatedNote, ExcludedSpan, map_category, read_physionet, write_physionet
from hygeia.privacy.phi import PhiSpan

SEED = 20261123
OUT = Path(__file__).resolve().parents[1] / "hygeia" / "privacy" / "corpus"
STYLES = ("nursing", "discharge", "radiology", "letter", "triage", "phone", "sloppy")

Piece = str | tuple[str, str]  # plain text, or (gold label, value)


def half(items: list, split: str) -> list:
    """Even positions for dev, odd for test: the split's disjoint share of any hand-written list."""
    return items[0::2] if split == "dev" else items[1::2]


def fold(text: str) -> str:
    """ASCII as a US registration desk would type it (letters without a decomposition mapped by hand)."""
    text = text.translate(str.maketrans({"ı": "i", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D",
                                         "ß": "ss", "æ": "ae", "œ": "oe"}))
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


# -- hand-written value lists (split by position) --------------------------------------------------------------------
CITIES = ["Worcester", "Springfield", "Lowell", "Quincy", "Framingham", "Mobile", "Reading", "Concord", "Salem",
          "Chelsea", "Brockton", "Peabody", "Fall River", "New Bedford", "Fitchburg", "Haverhill", "Pittsfield",
          "Burlington", "Newton", "Medford", "Revere", "Taunton", "Plymouth", "Attleboro", "Augusta", "Bangor",
          "Nashua", "Manchester", "Providence", "Warwick", "Hartford", "Stamford", "Albany", "Syracuse", "Akron",
          "Dayton", "Toledo", "Flint", "Lansing", "Gary", "Normal", "Peoria", "Joliet", "Tulsa", "Waco", "Laredo",
          "El Paso", "Fresno", "Modesto", "Eugene", "Boise", "Ogden", "Provo", "Reno", "Mesa", "Tempe", "Yuma",
          "Duluth", "Fargo", "Bismarck", "Sioux Falls", "Omaha", "Topeka", "Wichita", "Joplin", "Macon", "Athens",
          "Savannah", "Durham", "Asheville", "Roanoke", "Lynchburg", "Wheeling", "Erie", "Scranton", "Allentown"]
STATES = [("MA", "Massachusetts"), ("NH", "New Hampshire"), ("RI", "Rhode Island"), ("CT", "Connecticut"),
          ("NY", "New York"), ("ME", "Maine"), ("VT", "Vermont"), ("OH", "Ohio"), ("PA", "Pennsylvania"),
          ("TX", "Texas"), ("CA", "California"), ("IL", "Illinois"), ("GA", "Georgia"), ("NC", "North Carolina")]
COUNTRIES = ["Brazil", "Haiti", "India", "Guatemala", "Nigeria", "Vietnam", "the Dominican Republic", "Portugal",
             "Mexico", "Ghana", "the Philippines", "Cape Verde", "Ireland", "Poland", "China", "Somalia"]
HOSP_HEAD = ["St. Mary's", "Mercy", "St. Elizabeth's", "Good Samaritan", "St. Vincent", "Providence", "Holy Cross",
             "Sacred Heart", "St. Luke's", "Baystate", "Lakeview", "Riverside", "Northshore", "Valley", "Pine Ridge",
             "Harborview", "Cedar Hill", "Maplewood", "Brookside", "Summit"]
HOSP_TAIL = ["Hospital", "Medical Center", "General Hospital", "Regional Medical Center", "Memorial Hospital",
             "Community Hospital", "Health Center", "Hospital Center"]
FACILITY = ["Nursing Home", "Rehabilitation Center", "Skilled Nursing Facility", "Rehab", "Assisted Living",
            "Care Center", "Manor", "Senior Living"]
COMMON_WORD_SURNAMES = ["White", "Brown", "Young", "King", "Hill", "Wood", "Stone", "Bell", "Rose", "Hope", "Price",
                        "Love", "Mark", "Banks", "Bush", "Frost", "Moody", "Gay", "Little", "Street"]
ARABIC = [("Mohammed", "Al-Sayed"), ("Fatima", "Haddad"), ("Omar", "Khalil"), ("Layla", "Mansour"),
          ("Youssef", "Nasser"), ("Amira", "Saleh"), ("Tariq", "Abboud"), ("Noor", "Hamdan"), ("Khalid", "Farah"),
          ("Rania", "Aziz"), ("Hassan", "Darwish"), ("Salma", "Qasim")]
KOREAN = [("Ji-hoon", "Park"), ("Min-jung", "Kim"), ("Seo-yeon", "Lee"), ("Dong-hyun", "Choi"), ("Eun-ji", "Jung"),
          ("Sung-min", "Kang"), ("Hye-jin", "Yoon"), ("Jae-won", "Han"), ("Soo-ah", "Lim"), ("Tae-yang", "Shin")]
LOCALES = ["es_MX", "en_IN", "vi_VN", "zh_CN", "ja_JP", "yo_NG", "ig_NG", "pl_PL", "pt_BR", "de_DE", "fr_FR",
           "it_IT", "tr_TR", "ga_IE", "zu_ZA", "el_GR"]
EPONYM_DX = ["Parkinson's disease", "Crohn's disease", "Bell's palsy", "Hodgkin lymphoma", "Alzheimer's dementia",
             "Graves' disease", "Hashimoto's thyroiditis", "Addison's disease", "Cushing's syndrome",
             "Barrett's esophagus", "Guillain-Barre syndrome", "Sjogren's syndrome", "Raynaud's phenomenon",
             "Wilson's disease", "Paget's disease of bone", "Meniere's disease", "Lyme disease", "Huntington's disease",
             "Down syndrome", "Marfan syndrome", "Dupuytren's contracture", "Kaposi sarcoma", "Hirschsprung disease",
             "West Nile encephalitis", "Rocky Mountain spotted fever", "Tourette syndrome", "Waldenstrom macroglobulinemia",
             "Wolff-Parkinson-White syndrome", "Lou Gehrig's disease (ALS)", "Takotsubo cardiomyopathy"]
EPONYM_EXAM = ["Babinski negative bilaterally", "Murphy's sign negative", "no McBurney's point tenderness",
               "Kernig and Brudzinski signs negative", "Romberg negative", "Homans sign negative",
               "Glasgow Coma Scale 15", "negative Lachman test", "Tinel sign positive at the wrist",
               "Phalen test positive", "Trousseau sign absent", "Chvostek sign negative", "Rovsing sign negative",
               "Mallampati class II", "Allen test normal", "Cheyne-Stokes respirations noted", "Kussmaul breathing",
               "Battle sign absent", "Levine sign", "Spurling test negative"]
EPONYM_DEVICE = ["Foley catheter", "Swan-Ganz catheter", "Jackson-Pratt drain", "Hickman line", "Pleur-x catheter",
                 "Dobhoff tube", "Blakemore tube", "Quinton catheter", "Broviac catheter", "Penrose drain",
                 "Groshong catheter", "Tenckhoff catheter", "Mahurkar catheter", "Coude catheter", "Salem sump",
                 "Malecot drain"]
DRUGS = ["lisinopril 10 mg PO daily", "metoprolol tartrate 25 mg PO BID", "Lasix 40 mg IV BID", "Coumadin 5 mg qHS",
         "Eliquis 5 mg BID", "Keppra 500 mg BID", "Ativan 0.5 mg IV q6h PRN anxiety", "Norco 5/325 1 tab q6h PRN",
         "Zosyn 3.375 g IV q8h", "vancomycin 1 g IV q12h", "heparin 5000 units SC TID", "insulin glargine 20 units qHS",
         "Tylenol 650 mg PO q6h PRN", "Zofran 4 mg IV q8h PRN nausea", "Protonix 40 mg PO daily", "Flomax 0.4 mg qHS",
         "Seroquel 25 mg qHS PRN", "Haldol 2 mg IM once", "Dilaudid 0.5 mg IV q3h PRN", "enoxaparin 40 mg SC daily",
         "albuterol 2.5 mg neb q4h PRN", "Augmentin 875 mg PO BID", "Bactrim DS 1 tab BID", "ciprofloxacin 500 mg BID",
         "Keflex 500 mg QID", "Plavix 75 mg daily", "atorvastatin 40 mg qHS", "Synthroid 88 mcg daily",
         "prednisone 40 mg daily", "morphine 2 mg IV q4h PRN", "amlodipine 5 mg daily", "metformin 1000 mg BID",
         "gabapentin 300 mg TID", "sertraline 50 mg daily", "KCl 20 mEq PO x1", "magnesium sulfate 2 g IV",
         "ceftriaxone 1 g IV daily", "Lovenox 1 mg/kg SC q12h", "NS at 75 mL/h", "oxycodone 5 mg q4h PRN",
         "Xarelto 20 mg daily", "Jardiance 10 mg daily", "Entresto 24/26 mg BID", "spironolactone 25 mg daily",
         "tamsulosin 0.4 mg daily", "donepezil 10 mg qHS", "carbidopa-levodopa 25/100 TID", "Humira 40 mg SC q2wk",
         "mesalamine 1.2 g BID", "levothyroxine 50 mcg daily", "furosemide 20 mg PO daily", "Narcan 0.4 mg IV PRN"]
COMPLAINTS = ["chest pain", "shortness of breath", "abdominal pain", "fever and chills", "syncope", "fall at home",
              "left leg swelling", "headache", "nausea and vomiting", "productive cough", "dysuria", "back pain",
              "palpitations", "confusion", "right-sided weakness", "hematemesis", "melena", "dizziness", "rash",
              "suicidal ideation", "hyperglycemia", "epistaxis", "laceration to the left hand", "wheezing"]
PMH = ["HTN", "HLD", "DM2", "CAD s/p CABG", "CHF (EF 35%)", "COPD on 2L home O2", "CKD stage 3", "afib on AC",
       "hypothyroidism", "OSA on CPAP", "GERD", "BPH", "depression", "anxiety", "prior CVA", "PVD", "cirrhosis",
       "asthma", "obesity (BMI 38)", "gout", "osteoarthritis", "PE 2019 on AC", "breast CA s/p lumpectomy", "HIV on ART"]
ROOMS = ["Rm 412", "room 1021", "bed 7B", "Rm 3-North 14", "bay 6", "pod C bed 2", "room 218", "bed 12A"]
# Clinical filler without PHI: real notes are mostly this, so precision is measured against realistic text.
LABS = [("Na", 133, 146, 0), ("K", 3.1, 5.6, 1), ("Cl", 95, 110, 0), ("HCO3", 18, 30, 0), ("BUN", 7, 48, 0),
        ("Cr", 0.6, 3.2, 1), ("Glu", 70, 310, 0), ("Ca", 8.1, 10.4, 1), ("Mg", 1.5, 2.6, 1), ("Phos", 2.1, 5.0, 1),
        ("WBC", 3.2, 18.5, 1), ("Hgb", 7.1, 15.9, 1), ("Hct", 22.0, 46.0, 1), ("Plt", 88, 450, 0), ("INR", 0.9, 3.4, 1),
        ("PTT", 24, 60, 0), ("AST", 12, 180, 0), ("ALT", 9, 150, 0), ("AlkP", 40, 300, 0), ("Tbili", 0.2, 3.5, 1),
        ("Alb", 2.1, 4.6, 1), ("Lactate", 0.6, 4.8, 1), ("Trop", 0.01, 0.9, 2), ("BNP", 40, 2400, 0),
        ("TSH", 0.3, 6.5, 2), ("HbA1c", 5.2, 11.8, 1), ("CRP", 0.5, 180, 1), ("ESR", 5, 110, 0), ("Lipase", 10, 600, 0),
        ("Ferritin", 8, 900, 0)]
SYMPTOMS = ["fever", "chills", "night sweats", "weight loss", "headache", "vision changes", "sore throat", "chest pain",
            "palpitations", "orthopnea", "PND", "cough", "hemoptysis", "dyspnea on exertion", "nausea", "vomiting",
            "diarrhea", "constipation", "hematochezia", "dysuria", "hematuria", "joint pain", "rash", "focal weakness",
            "numbness", "syncope", "leg swelling", "abdominal pain"]
EXAM = {"Gen": ["NAD, well appearing", "alert, in no acute distress", "chronically ill appearing, mildly uncomfortable",
                "elderly, frail, resting comfortably"],
        "HEENT": ["NCAT, PERRL, EOMI, MMM", "anicteric sclerae, oropharynx clear", "dry mucous membranes, no icterus",
                  "normocephalic, pupils 3 mm and reactive"],
        "Neck": ["supple, no JVD, no LAD", "JVP 8 cm, no thyromegaly", "no carotid bruits", "trachea midline, full ROM"],
        "CV": ["RRR, normal S1/S2, no m/r/g", "irregularly irregular, II/VI SEM at RUSB", "tachycardic, regular, no rub",
               "distant heart sounds, no gallop"],
        "Lungs": ["CTAB, no wheezes/rales/rhonchi", "bibasilar crackles, diminished at bases",
                  "scattered expiratory wheezes, prolonged expiration", "decreased breath sounds at the right base"],
        "Abd": ["soft, NT/ND, +BS, no HSM", "mild RLQ tenderness, no rebound or guarding", "obese, soft, nontender",
                "distended, tympanitic, hypoactive bowel sounds"],
        "Ext": ["no c/c/e, 2+ DP pulses bilaterally", "1+ pitting edema to the shins", "warm and well perfused",
                "trace bilateral ankle edema, calves soft"],
        "Neuro": ["A&Ox3, CN II-XII intact, 5/5 strength throughout", "oriented to person and place, moves all extremities",
                  "no focal deficits, gait deferred", "sensation intact to light touch, reflexes 2+ and symmetric"],
        "Skin": ["no rashes", "warm, dry, intact", "stage 2 sacral pressure injury, dressing c/d/i",
                 "ecchymoses over both forearms"]}
PROBLEMS = [("Hypertension", "continue home lisinopril"), ("Type 2 diabetes", "hold metformin, sliding scale insulin"),
            ("AKI on CKD", "trend Cr, avoid NSAIDs, renally dose meds"),
            ("Community-acquired pneumonia", "ceftriaxone and azithromycin, f/u cultures"),
            ("Hyponatremia", "fluid restrict 1.5 L, recheck Na in AM"), ("Anemia", "transfuse for Hgb < 7, iron studies"),
            ("COPD exacerbation", "prednisone 40 mg x5 days, duonebs q4h"),
            ("Atrial fibrillation with RVR", "rate control with metoprolol, continue DOAC"),
            ("Delirium", "reorient frequently, avoid benzodiazepines, melatonin qHS"),
            ("Cellulitis of the left leg", "mark borders, IV cefazolin"), ("UTI", "cefpodoxime to complete 7 days"),
            ("Hypokalemia", "replete K to goal > 4.0"), ("Acute on chronic systolic CHF", "IV furosemide, daily weights"),
            ("Alcohol use disorder", "CIWA protocol, thiamine and folate"), ("Chronic pain", "bowel regimen with opioids"),
            ("Upper GI bleed", "PPI BID, GI aware, type and screen"), ("Hyperlipidemia", "continue statin"),
            ("Hypothyroidism", "continue levothyroxine, TSH in 6 wks"), ("Deconditioning", "PT/OT consult, OOB TID"),
            ("Orthostatic hypotension", "check orthostatics, hold antihypertensives")]
ACTIONS = ["PT/OT consult", "strict I/Os", "fall precautions", "DVT prophylaxis with heparin SC", "diet as tolerated",
           "recheck labs in AM", "incentive spirometry", "monitor on telemetry"]
ORGANS = ["Liver: normal size and attenuation.", "Spleen: unremarkable.", "Pancreas: no ductal dilatation.",
          "Adrenal glands: no nodule.", "Bones: degenerative changes of the lumbar spine, no aggressive lesion.",
          "Lymph nodes: no pathologic adenopathy.", "Vessels: atherosclerotic calcification of the aorta, no aneurysm.",
          "Bowel: no obstruction; scattered sigmoid diverticula.", "Pleura: small left pleural effusion.",
          "Soft tissues: unremarkable.", "Gallbladder: layering sludge, no wall thickening.",
          "Kidneys: 2 mm nonobstructing right lower pole stone.", "Bladder: mild wall thickening.",
          "Heart: mild cardiomegaly, trace pericardial fluid.", "Thyroid: 9 mm left lobe nodule.",
          "Mediastinum: no mass.", "Airways: patent central airways.", "Sinuses: mucosal thickening of the maxillary sinus."]


# -- values: people, places, numbers ---------------------------------------------------------------------------------
@dataclass
class Person:
    first: str
    last: str
    middle: str
    sex: str  # "M" or "F"

    def initials(self, rng: random.Random) -> str:
        a, b = self.first[0].upper(), self.last[0].upper()
        return rng.choice([f"{a}.{b}.", f"{a}{b}", f"{a}. {b}.", f"{a}{self.middle[0]}{b}".upper()])


class Values:
    """Seeded Faker instances and the split's share of the hand lists."""

    def __init__(self, split: str, rng: random.Random) -> None:
        self.rng, self.split = rng, split
        self.us = Faker("en_US")
        self.us.seed_instance(rng.randrange(2**32))
        self.fakers = {}
        for loc in LOCALES:
            self.fakers[loc] = Faker(loc)
            self.fakers[loc].seed_instance(rng.randrange(2**32))
        self.cities, self.hosp_head = half(CITIES, split), half(HOSP_HEAD, split)
        self.common = half(COMMON_WORD_SURNAMES, split)
        self.hand = half(ARABIC, split) + half(KOREAN, split)
        self.decks: dict[str, list[str]] = {}

    def person(self, sex: str | None = None) -> Person:
        rng = self.rng
        sex = sex or rng.choice("MF")
        roll = rng.random()
        us = self.us
        first = us.first_name_male() if sex == "M" else us.first_name_female()
        last, middle = us.last_name(), us.first_name()
        if roll < 0.1:
            last = rng.choice(self.common)
        elif roll < 0.2:
            first, last = rng.choice(self.hand)
        elif roll < 0.55:
            loc = rng.choice(LOCALES)
            f = self.fakers[loc]
            if loc in ("zh_CN", "ja_JP"):
                first, last = f.first_romanized_name(), f.last_romanized_name()
            elif loc == "el_GR":
                first, last = fold(us.first_name()), "Papadopoulos" if rng.random() < .5 else "Georgiou"
            else:
                gendered = f.first_name_male if sex == "M" else f.first_name_female
                first = gendered() if hasattr(f, "first_name_male") else f.first_name()
                last = f.last_name()
            if rng.random() < 0.6:  # most US records drop diacritics
                first, last = fold(first), fold(last)
        return Person(first.strip(), last.strip(), middle.strip() or "A", sex)

    def deck(self, name: str, items: list[str]) -> str:
        """Draw from a shuffled deck of the split's share of ``items``: every value appears before any repeats."""
        pile = self.decks.setdefault(name, [])
        if not pile:
            pile.extend(half(items, self.split))
            self.rng.shuffle(pile)
        return pile.pop()

    def city(self) -> str:
        return rng_pick(self.rng, self.cities) if self.rng.random() < 0.8 else self.us.city()

    def hospital(self) -> tuple[str, str]:
        rng = self.rng
        kind = rng.random()
        if kind < 0.45:
            name = f"{rng.choice(self.hosp_head)} {rng.choice(HOSP_TAIL)}"
        elif kind < 0.75:
            name = f"{self.city()} {rng.choice(HOSP_TAIL)}"
        else:
            name = f"{self.us.last_name()} {rng.choice(['Memorial Hospital', 'Medical Center', 'Clinic'])}"
        abbr = "".join(w[0] for w in name.replace("St. ", "S ").replace("'s", "").split() if w[0].isalpha()).upper()
        return name, abbr

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def letters(self, n: int) -> str:
        return "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(n))

    def phone(self) -> str:
        a, b, c = f"{self.rng.randint(201, 989)}", f"{self.rng.randint(200, 999)}", self.digits(4)
        return self.rng.choice([f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"{a}{b}{c}", f"+1 {a} {b} {c}",
                                f"{a}-{b}-{c} x{self.digits(3)}", f"{b}-{c}", f"1-{a}-{b}-{c}"])


def rng_pick(rng: random.Random, items: list):
    return items[rng.randrange(len(items))]


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


DATE_FORMATS: list[Callable[[date], str]] = [
    lambda d: f"{d.month}/{d.day}", lambda d: f"{d.month:02d}/{d.day:02d}", lambda d: f"{d.month}/{d.day}/{d.year % 100:02d}",
    lambda d: f"{d.month}/{d.day}/{d.year}", lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}", lambda d: d.isoformat(),
    lambda d: f"{d.day}-{MONTHS[d.month - 1][:3]}", lambda d: f"{d.day:02d}-{MONTHS[d.month - 1][:3]}-{d.year}",
    lambda d: f"{d.day:02d}-{MONTHS[d.month - 1][:3].upper()}-{d.year % 100:02d}",
    lambda d: f"{MONTHS[d.month - 1]} {ordinal(d.day)}", lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{MONTHS[d.month - 1][:3]} {d.day}", lambda d: f"{MONTHS[d.month - 1][:3]}. {d.day}",
    lambda d: f"the {ordinal(d.day)} of {MONTHS[d.month - 1]}", lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{MONTHS[d.month - 1]} {d.year}", lambda d: f"{d.month}-{d.day}-{d.year}",
    lambda d: f"{MONTHS[d.month - 1][:3]} {ordinal(d.day)}", lambda d: f"{d.month}.{d.day}.{d.year % 100:02d}",
    lambda d: f"{MONTHS[d.month - 1]} {ordinal(d.day)}, {d.year}", lambda d: f"{d.year}{d.month:02d}{d.day:02d}",
]
NUMBER_WORDS = {90: "ninety", 91: "ninety-one", 92: "ninety-two", 93: "ninety-three", 94: "ninety-four",
                95: "ninety-five", 96: "ninety-six", 97: "ninety-seven", 98: "ninety-eight", 99: "ninety-nine"}


def age_phrase(rng: random.Random, age: int, sex: str, with_sex: bool = False) -> list[Piece]:
    """An age in one of many forms; only the number of an age over 89 is gold (Safe Harbor)."""
    num: Piece = ("AGE", str(age)) if age > 89 else str(age)
    word = "man" if sex == "M" else "woman"
    if with_sex:
        forms = [[num, sex], [num, " ", sex], [num, "-yo ", word], [num, "yo", sex], [num, " y/o ", sex],
                 [num, " year old ", word]]
    else:
        forms = [[num, " y/o"], [num, "yo"], [num, " year old"], [num, "-year-old"], ["age ", num], ["aged ", num],
                 [num, " yr old"], [num, " y.o."]]
    if 89 < age < 100 and rng.random() < 0.25:
        forms = [[("AGE", NUMBER_WORDS[age]), "-year-old"], ["in ", "his" if sex == "M" else "her", " ", ("AGE", "90s")]]
    return rng.choice(forms)


# -- templates: per style, sections of variants; even variants -> dev, odd -> test -------------------------------------
# A section is (name, probability, (fewest, most) variants picked, separator, variants). {KEY} fields are filled by
# Context.resolve; a trailing ^ capitalises the first letter of the filled text.
Section = tuple[str, float, tuple[int, int], str, list[str]]
ADMIN = ("admin", 0.6, (1, 3), "\n", [  # pairs: the dev and the test variant of the same identifier
    "Registration: SSN {SSN}; {PLAN_LABEL} {PLAN}.",
    "Social security #: {SSN}. Insurance: {PLAN_LABEL} {PLAN} (verified {PRIOR}).",
    "Patient portal account: {URL}", "Results also available online: {URL}",
    "Remote monitor {DEVICE_SN} last transmitted from {IP} on {PRIOR}.",
    "Session logged from {IP} by {USER}; home hub {DEVICE_SN}.",
    "Parking validation issued for vehicle {PLATE}.", "Vehicle on file for transport voucher: {VIN}.",
    "Home telemonitoring account registered to {EMAIL}.",
    "Preferred contact: {EMAIL}; secondary insurance {PLAN_LABEL} {PLAN}.",
    "Billing account {ACCT}; guarantor {REL_NAME}, {STREET}, {CITY}, {STATE} {ZIP}.",
    "Guarantor: {REL_NAME} ({REL_WORD}), account {ACCT}, {STREET}, {CITY} {ZIP}.",
    "Research consent on file: study ID {STUDY_ID}.",
    "ID band checked against MRN {MRN}, study ID {STUDY_ID} and DOB {DOB}.",
    "Prescriber DEA {DEA}, NPI {NPI}.", "Ordering provider licence {LIC}; NPI {NPI}.",
    "Telehealth: {URL} (connected from {IP}).", "VPN connection {IP}; e-mail copy sent to {EMAIL}.",
])
STYLE_SECTIONS: dict[str, list[Section]] = {
    "nursing": [
        ("header", 1, (1, 1), "\n", [
            "NURSING PROGRESS NOTE {NOTE_DATE} 0700-1900\nPT: {PT_CAPS}   MRN: {MRN}   {ROOM}",
            "{HOSP_ABBR} MICU NSG NOTE {NOTE_DATE} 7P-7A\n{PT_CAPS} ({AGE_MF}) UNIT #: {MRN}",
            "RN PROGRESS NOTE - {HOSP} - {NOTE_DATE}\nPATIENT: {PT}  DOB {DOB}  {ROOM}",
            "NSG ADMIT NOTE {NOTE_DATE} {TIME}\nNAME: {PT_CAPS}  MR#{MRN}  ACCT {ACCT}",
            "{NOTE_DATE} NURSING NOTE 3-11 SHIFT\nRE: {PT_CAPS}, {AGE_MF}, {ROOM}",
            "CCU NURSING PROGRESS NOTE, {HOSP_ABBR}\nDATE: {NOTE_DATE}  PT {PT_CAPS}  MRN {MRN}"]),
        ("intro", 1, (1, 2), " ", [
            "PT IS A {AGE} {SEX} ADMITTED {ADM} FROM {OSH} WITH {CC}. PMH: {PMH_LIST}.",
            "{AGE_MF} W/ HX {PMH_LIST} TRANSFERRED FROM {FACILITY} ON {ADM} FOR {CC}.",
            "EVENTS: PT FOUND ON FLOOR AT {TIME}, NO LOC, {EXAM_EPONYM}. DR {DR_LAST} NOTIFIED, CT HEAD NEG.",
            "EVENTS: RAPID RESPONSE CALLED {RELDAY} FOR SBP 80S, 1L NS BOLUS W/ GOOD EFFECT. SEEN BY {DR2}.",
            "PT WITH KNOWN {DX}, ADMITTED {RELDAY} W/ {CC}; SEEN BY NEURO (DR {DR2_LAST}) THIS AM.",
            "OVERNIGHT PT PULLED OUT {DEVICE_EPONYM} AT {TIME}, REPLACED BY {RN}. {DR_T} AWARE.",
            "{PT_LAST_T} IS A {AGE} {SEX} WHO PRESENTED {ADM} TO {HOSP} ED W/ {CC}.",
            "PT {PT_INIT} ADMITTED {ADM} FOR {CC}; HX {PMH_LIST}, ALSO {DX} SINCE {YEAR}."]),
        ("systems", 1, (3, 5), "\n", [
            "NEURO: A&OX3, MAE, FOLLOWS COMMANDS, PERRLA. {EXAM_EPONYM}. STRENGTH 5/5 UE, 4/5 LE.",
            "NEURO: ALERT, ORIENTED X2, GCS 14, CALM AFTER {DRUG}. SLEPT IN NAPS.",
            "CV: {VITALS}. SR 70S-80S W/ RARE PVCS. PULSES 2+ PALPABLE. NO EDEMA.",
            "CV: HR 90S AFIB, BP 100/60-130/80, K 3.4 REPLETED W/ {DRUG}.",
            "RESP: LS CLEAR BIL, RR 16-20, SPO2 95% ON 2L NC. ABG 7.38/42/88.",
            "RESP: COARSE BS BIL, SX FOR THICK TAN SPUTUM, CXR {RELDAY} W/ RLL INFILTRATE.",
            "GI: ABD SOFT NT/ND, +BS, TOL PO, LAST BM {RELDAY}. {DRUG}.",
            "GI/GU: NPO AFTER MN. {DEVICE_EPONYM} DRAINING CLEAR YELLOW URINE 40-60 CC/HR.",
            "SKIN: INTACT EXCEPT STAGE 2 SACRAL ULCER 2X3 CM, DSG CHANGED. TURNED Q2H.",
            "ID: TMAX 101.2, ON {DRUG}. WBC 14.2 (12.8). BLOOD CX PENDING.",
            "ENDO: FS 180-220, COVERED W/ SSI PER PROTOCOL, {DRUG}.",
            "PAIN: 6/10 ABD, MEDICATED W/ {DRUG} W/ RELIEF TO 2/10."]),
        ("social", 0.8, (1, 2), "\n", [
            "SOCIAL: {REL_WORD} {REL_NAME} IN TO VISIT, UPDATED BY {RN}. CAN BE REACHED AT {REL_PHONE}.",
            "FAMILY: {REL_NAME} ({REL_WORD}, HCP) CALLED AT {TIME}, QUESTIONS ANSWERED. LIVES IN {CITY}.",
            "DISPO: PLAN FOR D/C TO {FACILITY} IN {CITY} WHEN BED AVAILABLE, CM {DR2_LAST} FOLLOWING.",
            "SOCIAL: PT LIVES ALONE AT {STREET}, {CITY}. WORKS AS A BUS DRIVER FOR {EMPLOYER}.",
            "CODE STATUS: DNR/DNI PER {REL_WORD} {REL_NAME} (HCP), MOLST IN CHART.",
            "FAMILY MEETING SET FOR {FU} W/ DR {DR_LAST}, SW AND {REL_WORD} {REL_NAME}."]),
        ("labs", 0.9, (1, 1), "\n", ["LABS: {LABS}", "AM LABS {LABS}"]),
        ("exam", 0.8, (1, 1), "\n", ["HEAD TO TOE: {EXAM}", "ASSESSMENT: {EXAM}"]),
        ("plan", 1, (1, 1), "\n", [
            "PLAN: CONT CURRENT POC, MONITOR I/O, F/U AM LABS. SIGNED {RN}, RN",
            "A/P: STABLE, CONT ABX, OOB TO CHAIR W/ PT. -- {RN} RN / {USER}",
            "PLAN: CONT TO MONITOR, NOTIFY HO FOR SBP<90 OR HR>120. {DR_INIT} AWARE.",
            "PLAN: NPO FOR EGD {FU}, CONSENT SIGNED BY {REL_WORD}. PAGE DR {DR_LAST} AT {PAGER} W/ CHANGES.",
            "A: IMPROVING. P: TRANSFER TO FLOOR, REPORT GIVEN TO {RN} ON 5 WEST.",
            "PLAN: CONT {DRUG}. {DR_T} TO UPDATE {REL_WORD}. NOTE BY {RN}, RN, PAGER {PAGER}"]),
        ADMIN],
    "discharge": [
        ("header", 1, (1, 1), "\n", [
            ("DISCHARGE SUMMARY\n\nPatient: {PT}    MRN: {MRN}    Account: {ACCT}\nAdmission Date: {ADM}    "
            "Discharge Date: {DC}\nAttending: {DR}, MD\nService: Medicine"),
            ("{HOSP}\nDISCHARGE SUMMARY\nName: {PT_CAPS}\nUnit No: {MRN}\nDate of Birth: {DOB}\nAdmitted: {ADM}   "
            "Discharged: {DC}\nAttending Physician: {DR_T}"),
            ("Discharge Summary - {HOSP}\nPatient Name: {PT}  DOB: {DOB}  Sex: {MF}\nMR#: {MRN}   FIN: {ACCT}\n"
            "Date of admission: {ADM}\nDate of discharge: {DC}"),
            "DISCHARGE SUMMARY (dictated)\nRE: {PT}, MRN {MRN}\nADMITTED: {ADM}\nDISCHARGED: {DC}\nPCP: {PCP_T}"]),
        ("hpi", 1, (1, 1), "\n", [
            ("HISTORY OF PRESENT ILLNESS:\n{PT_LAST_T} is a {AGE} {SEX} with a history of {PMH_LIST} and {DX} who "
            "presented to the {HOSP} Emergency Department on {ADM} with {CC}. {HE} was in {his} usual state of health "
            "until {ONSET}, when {he} developed worsening {CC}."),
            ("HPI: {AGE} {SEX} with {PMH_LIST}, transferred from {OSH} on {ADM} for management of {CC}. Per {his} "
            "{REL_WORD}, {REL_NAME}, symptoms began around {ONSET}."),
            ("History of Present Illness: The patient is a {AGE} {SEX}, a resident of {FACILITY} in {CITY}, with {DX} "
            "and {PMH_LIST}, brought in by ambulance with {CC} on the evening of {ADM}."),
            ("HISTORY: {PT_FIRST} is a pleasant {AGE} {SEX} who was seen by {his} PCP, {PCP_T}, on {PRIOR} and "
            "referred in for {CC}. Past history includes {PMH_LIST}; {he} had a {DEVICE_EPONYM} placed in {YEAR}.")]),
        ("ros", 0.7, (1, 1), "\n", ["REVIEW OF SYSTEMS: {ROS}.", "ROS: {ROS}."]),
        ("exam", 1, (1, 1), "\n", ["PHYSICAL EXAMINATION ON ADMISSION:\n{EXAM}", "Admission exam: {EXAM}"]),
        ("labs", 1, (1, 1), "\n", ["PERTINENT RESULTS:\n{LABS}\n{LABS}",
                                    "Labs on admission: {LABS}. At discharge: {LABS}."]),
        ("course", 1, (2, 3), "\n", [
            ("HOSPITAL COURSE:\n1. {CC^}: Workup included CBC, BMP, troponin x2 (negative) and CXR. {HE} was treated "
            "with {DRUG} and improved by hospital day 3."),
            "Neurology ({DR2_T}) was consulted on {DATE_IN} for {his} {DX}; home regimen continued. {EXAM_EPONYM}.",
            ("# Sepsis: blood cultures from {ADM} grew E. coli; treated with {DRUG}, changed to PO on {DATE_IN}.\n"
            "# AKI: Cr peaked at 2.1, improved to 1.1 with IVF."),
            "# Anticoagulation: held for {DEVICE_EPONYM} placement on {DATE_IN}, resumed {DRUG} the following day.",
            ("{HE} underwent cardiac catheterization on {SURG_DATE} by {DR2_T}, which showed a 90% LAD lesion; a "
            "drug-eluting stent was placed (lot {DEVICE_SN})."),
            ("{HE} had a fall on {DATE_IN} without injury; PT/OT recommended rehab and case management arranged "
            "transfer to {FACILITY}."),
            "Pacemaker interrogation on {DATE_IN} (serial number {DEVICE_SN}) showed normal function.",
            "GI was consulted for guaiac-positive stool; EGD on {SURG_DATE} by {DR2} showed {DX}."]),
        ("problems", 1, (1, 1), "\n", ["ASSESSMENT AND PLAN BY PROBLEM:\n{PLAN_ITEMS}",
                                        "Problems addressed this admission:\n{PLAN_ITEMS}"]),
        ("meds", 1, (1, 1), "\n", [
            "DISCHARGE MEDICATIONS:\n{MEDLIST}",
            "Medications on discharge:\n{MEDLIST}\nPrescriptions sent to {PHARMACY}, {STREET}, {CITY}.",
            "DISCHARGE MEDS: {MEDS_INLINE}. STOP {DRUG}.",
            "Discharge Medications (reconciled with {his} {REL_WORD} {REL_NAME}):\n{MEDLIST}"]),
        ("followup", 1, (1, 2), "\n", [
            "FOLLOW-UP:\n- {PCP_T} at {CLINIC} on {FU} at {TIME} ({CLINIC_PHONE}).\n- Cardiology clinic in 2 weeks.",
            "Follow up with {DR2} in {CLINIC} within 1 week; call {CLINIC_PHONE}. BMP on {FU}, fax results to {FAX}.",
            "DISPOSITION: Home with VNA. Follow-up appointment {FU} with {PCP_T}. Results online at {URL}.",
            ("Disposition: {FACILITY}, {CITY}, {STATE}. Records faxed to {FAX} on {DC}. Contact: {REL_WORD} "
            "{REL_NAME}, {REL_PHONE}.")]),
        ("sign", 1, (1, 1), "\n", [
            "Dictated by: {DR2}, MD for {DR}, MD\nD: {DC} T: {DC_NEXT}\nJob #: {STUDY_ID}",
            "Electronically signed by {DR}, MD on {DC} at {TIME}. DEA {DEA}",
            "{DR_INIT}/{USER}\ncc: {PCP_T}, {CLINIC}, {C_STREET}, {C_CITY}, {STATE} {C_ZIP}",
            "Attending: {DR}, MD (NPI {NPI})\nSigned {DC}"]),
        ADMIN],
    "radiology": [
        ("header", 1, (1, 1), "\n", [
            ("EXAM: CT ABDOMEN AND PELVIS WITH IV CONTRAST\nPATIENT: {PT_CAPS}   MRN: {MRN}   DOB: {DOB}\n"
            "ACCESSION #: {ACC_NO}\nDATE OF SERVICE: {NOTE_DATE}"),
            ("{HOSP} Department of Radiology\nPatient: {PT}  Age: {AGE_NUM}  Sex: {MF}\nExam: MRI BRAIN W/WO CONTRAST"
            "   Acc: {ACC_NO}\nExam date: {NOTE_DATE} {TIME}"),
            ("CHEST RADIOGRAPH, PA AND LATERAL\nName: {PT}\nMR #: {MRN}\nOrdering: {DR_T}\nDate: {NOTE_DATE}\n"
            "Accession: {ACC_NO}"),
            "US RENAL COMPLETE -- {NOTE_DATE}\n{PT_CAPS} / {MRN} / {AGE_NUM}{MF}\nReferring physician: {REF}, {CLINIC}",
            ("Procedure: CTA chest (PE protocol)\nPt: {PT} (DOB {DOB})\nStudy ID {STUDY_ID}; Acc# {ACC_NO}\n"
            "Performed {NOTE_DATE} at {HOSP}"),
            "XR LEFT KNEE 3 VIEWS\n{PT_CAPS}  MRN {MRN}  Acct {ACCT}\nDate: {NOTE_DATE}"]),
        ("history", 1, (1, 1), "\n", [
            "CLINICAL HISTORY: {AGE} {SEX} with {CC}. Rule out acute process.",
            "INDICATION: {CC}; history of {DX}. Evaluate for acute process.",
            "HISTORY: {AGE_MF}, fall {RELDAY}, on {DRUG}. ? fracture.",
            "REASON FOR EXAM: {CC} x 3 days, {PMH_LIST}."]),
        ("comparison", 1, (1, 1), "\n", [
            "COMPARISON: {PRIOR}.",
            "COMPARISON: CT chest from {OSH} dated {PRIOR} (outside images uploaded to PACS).",
            "COMPARISON: None available.",
            "COMPARISON: Prior study of {PRIOR} and MRI of {PRIOR2}."]),
        ("technique", 1, (1, 1), "\n", [
            ("TECHNIQUE: Axial images from the lung bases through the pubic symphysis after 100 mL Omnipaque 350 IV. "
            "DLP 512 mGy-cm."),
            "TECHNIQUE: Multiplanar multisequence MR imaging of the brain before and after 7 mL gadobutrol.",
            "TECHNIQUE: Grayscale and color Doppler images. Scanner: {SCANNER} (serial {DEVICE_SN}).",
            "TECHNIQUE: Single frontal portable view at {TIME}. Images sent from workstation {IP}."]),
        ("findings", 1, (3, 4), "\n", [
            ("FINDINGS: Lungs are clear. No pleural effusion or pneumothorax. Cardiomediastinal silhouette within "
            "normal limits. {DEVICE_EPONYM} tip projects over the SVC."),
            ("FINDINGS: 1.2 x 0.8 cm hypodensity in hepatic segment 7, too small to characterize. Gallbladder "
            "normal; no sonographic Murphy sign. Kidneys enhance symmetrically."),
            ("Moderate periventricular white matter T2 hyperintensities, likely chronic small vessel disease. No acute "
            "infarct. Findings may relate to known {DX}."),
            ("The appendix is dilated to 11 mm with periappendiceal fat stranding. No free air. Small bilateral "
            "fat-containing inguinal hernias."),
            ("Right kidney 11.2 cm, left kidney 10.8 cm. No hydronephrosis. Bladder decompressed around a "
            "{DEVICE_EPONYM}."),
            "Acute nondisplaced fracture of the medial tibial plateau. Moderate joint effusion. Alignment anatomic.",
            ("Filling defects in right lower lobe segmental pulmonary arteries. RV/LV ratio 0.9. Incidental 4 mm RUL "
            "nodule (series 3, image 112)."),
            "No intracranial hemorrhage, mass effect or midline shift. Gray-white differentiation preserved."]),
        ("organs", 1, (1, 1), "\n", ["{ORGANS}", "Other findings: {ORGANS}"]),
        ("impression", 1, (1, 1), "\n", [
            "IMPRESSION:\n1. Findings as above.\n2. Follow-up CT in 3-6 months per Fleischner Society guidelines.",
            "IMPRESSION: No acute cardiopulmonary process. Stable since {PRIOR}.",
            ("IMPRESSION: Acute uncomplicated appendicitis. Discussed with {DR_T} by telephone at {TIME} on "
            "{NOTE_DATE}."),
            ("IMPRESSION: Segmental PE without right heart strain. Critical result called to {DR} ({PAGER}) at "
            "{TIME} by {RAD_LAST}."),
            ("IMPRESSION: Chronic microvascular changes; no acute intracranial abnormality. Compared with outside "
            "study from {OSH} dated {PRIOR}."),
            "IMPRESSION: Nondisplaced tibial plateau fracture. Orthopedics ({DR2_T}) notified on {NOTE_DATE}."]),
        ("sign", 1, (1, 1), "\n", [
            "Dictated by: {RAD}, MD\nSigned: {NOTE_DATE} {TIME}",
            "Resident: {DR2}, MD   Attending radiologist: {RAD}, MD\nReport electronically signed {NOTE_DATE}.",
            ("I have personally reviewed the images and agree with the report above. -- {RAD}, MD, {HOSP} Radiology, "
            "{CLINIC_PHONE}"),
            "Read by {RAD_INIT} ({USER}) at workstation {IP}. Final {NOTE_DATE}."]),
        ADMIN],
    "letter": [
        ("header", 1, (1, 1), "\n", [
            "{CLINIC}\n{C_STREET}\n{C_CITY}, {STATE} {C_ZIP}\nTel {CLINIC_PHONE}  Fax {FAX}\n\n{NOTE_DATE}",
            ("{HOSP} - Department of Cardiology\n{NOTE_DATE}\n\n{REF}, MD\n{CLINIC}\n{C_STREET}\n{C_CITY}, {STATE} "
            "{C_ZIP}"),
            "{NOTE_DATE}\n\nTo: {REF_T}, {CLINIC}\nFax: {FAX}\nFrom: {DR}, MD, {HOSP}\nRe: {PT}, DOB {DOB}, MRN {MRN}",
            "{CLINIC} | {C_STREET}, {C_CITY} | {URL}\n\n{NOTE_DATE}\n\nRE: {PT_CAPS}  (DOB: {DOB})"]),
        ("salutation", 1, (1, 1), "\n", [
            "Dear {REF_T},", "Dear Dr. {REF_LAST} and colleagues,", "Dear {REF_FIRST},", "To whom it may concern:"]),
        ("opening", 1, (1, 1), " ", [
            ("Thank you for referring {PT_LAST_T}, a {AGE} {SEX}, whom I saw in the {CLINIC} on {NOTE_DATE} for "
            "evaluation of {CC}."),
            "I had the pleasure of seeing your patient {PT} (DOB {DOB}) in consultation today regarding {his} {DX}.",
            ("I am writing to update you on {PT_FIRST} {PT_LAST}, who was last seen here on {PRIOR} and returns with "
            "{CC}."),
            ("This letter concerns {PT}, {AGE}, who lives at {STREET}, {CITY}, {STATE} {ZIP}, and has been under my "
            "care since {YEAR}."),
            "I reviewed {PT_LAST_T} in clinic on {PRIOR} together with {his} {REL_WORD}, {REL_NAME}.",
            "As requested, I saw {PT} ({MRN}) in the memory clinic, accompanied by {his} {REL_WORD} {REL_NAME}."]),
        ("history", 1, (2, 3), " ", [
            ("{HE} reports {CC} since {ONSET}, worse with exertion. {HE} denies fever, weight loss or night sweats. "
            "Past history is notable for {PMH_LIST}."),
            "Of note, {he} travelled to {COUNTRY} in {MONTH_YEAR} and was treated at {OSH} for presumed {DX}.",
            "Current medications are {MEDS_INLINE}. {HE} works at {EMPLOYER} and does not smoke.",
            ("On examination BP was 142/88, pulse 76 regular, BMI 31. Heart sounds normal; {EXAM_EPONYM}. Power was "
            "5/5 throughout."),
            ("{HE} was previously followed by {DR2_T} at {OSH} until {PRIOR}; those records were requested by fax "
            "({FAX})."),
            ("Investigations: Hb 10.9, ferritin 12, TSH 2.1, HbA1c 7.4% ({PRIOR}). Echo {PRIOR2}: EF 55%, no "
            "valvular disease."),
            "{HE} walks daily at {PLACE} and swims twice a week.", "{HE} enjoys gardening and volunteers at {PLACE}."]),
        ("exam", 0.8, (1, 1), "\n\n", ["Examination: {EXAM}", "On examination today: {EXAM}"]),
        ("labs", 0.8, (1, 1), "\n\n", ["Recent blood tests: {LABS}.", "Blood results: {LABS}."]),
        ("problems", 0.5, (1, 1), "\n\n", ["Summary of problems:\n{PLAN_ITEMS}", "Problem list:\n{PLAN_ITEMS}"]),
        ("plan", 1, (1, 2), " ", [
            "My impression is of {DX}. I have started {DRUG} and will review {him} on {FU}.",
            ("I have arranged an MRI and will see {him} again in six weeks. {HE} can reach my office at "
            "{CLINIC_PHONE} or by e-mail at {DR_EMAIL}."),
            "I would be grateful if you could check renal function on {FU} and forward the result (fax {FAX}).",
            ("We discussed the diagnosis with {him} and {his} {REL_WORD}; written information and the link {URL} were "
            "provided."),
            ("The DMV medical form for {his} vehicle (plate {PLATE}) has been completed; {he} should not drive until "
            "reviewed."),
            "{HE} will be enrolled in our heart failure registry (study ID {STUDY_ID}) pending consent."]),
        ("closing", 1, (1, 1), "\n", [
            "Best regards,\n{DR}, MD, PhD\n{CLINIC}\n{DR_EMAIL}",
            "Yours sincerely,\n\n{DR}, MD\nConsultant Cardiologist\nLicense #{LIC}",
            "Sincerely,\n\n{DR}\nAttending Physician, {HOSP}\ncc: {PT}, {STREET}, {CITY}, {STATE} {ZIP}",
            "With kind regards,\n{DR_INIT}\nDictated but not read. NPI {NPI}."])],
    "triage": [
        ("header", 1, (1, 1), "\n", [
            "ED TRIAGE NOTE\nArrival: {ADM} {TIME} via EMS (Medic 12)\nName: {PT}  MRN: {MRN}  DOB: {DOB}",
            ("TRIAGE {ADM} {TIME}  {HOSP_ABBR} ED\nPt: {PT_CAPS}, {AGE_MF}\nMode of arrival: private vehicle, plate "
            "{PLATE}"),
            ("Emergency Department Triage - {HOSP}\nDate/Time: {ADM} {TIME}\nPatient: {PT} ({AGE_NUM} {MF})  "
            "Acct# {ACCT}"),
            "ED TRIAGE ({ADM}, {TIME})\n{PT_CAPS}  MR {MRN}\nArrived by car (VIN {VIN}) driven by {REL_WORD}"]),
        ("cc", 1, (1, 1), "\n", [
            "CC: {CC}", "Chief complaint: {CC} x2 days", "C/C: {CC} since {RELDAY}",
            "CC: MVC, restrained driver. Vehicle {PLATE} rear-ended at low speed per police."]),
        ("hpi", 1, (1, 2), " ", [
            ("HPI: {AGE} {SEX} c/o {CC} starting {RELDAY} at approx {TIME}. Denies CP/SOB. Hx {PMH_LIST}. Last seen "
            "well {ONSET} per {REL_WORD} {REL_NAME}."),
            ("Pt is a {AGE} from {FACILITY} sent in for {CC}; NH staff ({RN}) report decreased PO intake since "
            "{ONSET}. Hx {DX}."),
            "Pt reports {CC}; took {DRUG} at home without relief. Recent travel to {COUNTRY}. PCP {PCP_T}.",
            "{AGE} pt brought in by {REL_WORD} {REL_NAME} ({REL_PHONE}) for {CC}. Pt lives at {STREET}, {CITY}.",
            "Pt with {DX}; {DEVICE_EPONYM} in place, last changed {PRIOR} at {OSH}.",
            "Pt ambulatory to triage. Insulin pump in place (serial {DEVICE_SN}); last bolus at {TIME}.",
            "EMS: pt found down at {PLACE} by bystanders at {TIME}; GCS 13 on scene.",
            "Pt collapsed while walking at {PLACE}; CPR by bystander, ROSC after 1 round."]),
        ("ros", 0.8, (1, 1), "\n", ["ROS: {ROS}", "Review of systems: {ROS}"]),
        ("vitals", 1, (1, 1), "\n", [
            "VS: {VITALS}  Pain {PAIN}/10", "Triage vitals: {VITALS}. GCS 15. FSBG 142.",
            "T 98.6 HR 112 BP 158/94 RR 22 SpO2 91% RA, wt 82 kg", "Vitals {VITALS}; repeat at {TIME} BP 148/90."]),
        ("exam", 0.8, (1, 1), "\n", ["Focused exam: {EXAM}", "Triage assessment: {EXAM}"]),
        ("allergies", 1, (1, 1), "\n", [
            "Allergies: PCN (rash), sulfa. Meds: {MEDS_INLINE}.", "NKDA. Home meds per {PHARMACY} list: {MEDS_INLINE}.",
            "ALL: codeine -> N/V. MEDS: see med rec; on {DRUG}.", "Allergies: latex, iodinated contrast (hives {YEAR})."]),
        ("dispo", 1, (1, 2), "\n", [
            "ESI 2. To {ROOM}. Dr. {DR_LAST} at bedside at {TIME}.",
            "ESI 3, to waiting room; reassess q1h. Triage RN: {RN} ({USER})",
            "ESI 2 - sepsis alert called, lactate and BCx x2 sent. Attending {DR_T} notified.",
            "ESI 4. Fast track. Insurance: {PLAN_LABEL} {PLAN}. Contact number {PHONE}.",
            "Registration: SSN {SSN}, {PLAN_LABEL} {PLAN}. Emergency contact {REL_NAME} {REL_PHONE}.",
            "Stroke alert activated at {TIME}; LKW {ONSET}. Neuro ({DR2_T}) paged to {PAGER}."]),
        ADMIN],
    "phone": [
        ("header", 1, (1, 1), "\n", [
            ("TELEPHONE ENCOUNTER\nDate: {NOTE_DATE}  Time: {TIME}\nCaller: {REL_NAME} ({REL_WORD})  Callback #: "
            "{REL_PHONE}\nRe: {PT}, DOB {DOB}"),
            "Phone Note - {CLINIC}\n{NOTE_DATE} {TIME}\nPatient: {PT} MRN {MRN}\nCall from: patient, {PHONE}",
            ("Telephone call with patient {PT_CAPS} on {NOTE_DATE}. Identity verified with DOB {DOB} and address "
            "{STREET}, {CITY} {ZIP}."),
            "PHONE ENCOUNTER {NOTE_DATE}\nSpoke with: {PT} (self)\nPhone: {PHONE}\nPCP: {PCP_T}"]),
        ("reason", 1, (1, 2), " ", [
            "Reason for call: {CC} since {RELDAY}, rated 5/10. No fever.",
            "{REL_WORD^} states pt has had {CC} since {ONSET} and is more confused at night.",
            "Pt called requesting refill of {DRUG}; last filled {PRIOR} at {PHARMACY}.",
            "Pt reports home BP readings 150s/90s over the past week on {DRUG}.",
            "Pt calling about labs drawn {PRIOR}: A1c 8.1, LDL 132.",
            "Caller reports pt's insulin pump (SN {DEVICE_SN}) alarming 'no delivery' since {TIME}.",
            "Pt reports the video visit on {PRIOR} dropped; portal log shows session from IP {IP}.",
            "Pt asks for FMLA paperwork for employer {EMPLOYER}; forms faxed to HR at {FAX}.",
            "Pt asking whether ok to attend an event at {PLACE} this weekend.",
            "Caller says pt got lost near {PLACE} {RELDAY}; police brought {him} home."]),
        ("ros", 0.6, (1, 1), "\n", ["Symptoms reviewed: {ROS}.", "Triage protocol questions: {ROS}."]),
        ("advice", 1, (1, 2), " ", [
            "Advised to go to ED if worse. Pt verbalized understanding.",
            "Per {DR_T}, increase {DRUG}. Rx sent to {PHARMACY}, {STREET}. Pt aware.",
            "Appointment made with {PCP_T} for {FU} at {TIME}.",
            "Instructed to send BP log via portal ({URL}) or e-mail {EMAIL}.",
            "Discussed with on-call {DR}; no change tonight, will call back {WEEKDAY}.",
            "Results letter mailed to {STREET}, {CITY}, {STATE} {ZIP}.",
            "Message left on voicemail at {PHONE} asking pt to call back at {CLINIC_PHONE}.",
            "Pump company contacted about device {DEVICE_SN}; replacement shipping {FU}."]),
        ("sign", 1, (1, 1), "\n", [
            "-- {RN}, RN", "{RN}, LPN / {USER}", "Call handled by {RN}, RN. Routed to {DR_T}.",
            "Signed: {DR}, MD  {NOTE_DATE} {TIME}"]),
        ADMIN],
    "sloppy": [
        ("open", 1, (1, 1), "\n", [
            "pt seen today, {AGE_MF} w/ {CC}. hx {PMH_LIST}.",
            "f/u visit. {PT_FIRST} here w/ {REL_WORD} {REL_NAME}, c/o {CC} x1wk",
            "{PT_LAST} {PT_FIRST} dob {DOB} - here for {CC}",
            "seen in clinic {NOTE_DATE}. pt {PT} is {AGE} {SEX}, hx {DX}, lives in {CITY}",
            "quick note: {PT_INIT} called back re {CC}, says started {ONSET}",
            "{NOTE_DATE} pt {PT_LAST} walk in, {CC} since {RELDAY}, denies fevers"]),
        ("body", 1, (2, 4), "\n", [
            "on {DRUG}, taking it most days. bp ok today {BP}",
            "exam: nad, rrr, ctab, abd soft, {EXAM_EPONYM}",
            "{REL_WORD} {REL_NAME} says pt not eating, wt down 3 lb since {PRIOR}",
            "labs from {PRIOR} reviewed, cr 1.3 k 4.8, a1c 7.9",
            "pt works at {EMPLOYER}, stressed. smokes 1/2 ppd since {YEAR}",
            "had {DEVICE_EPONYM} removed {RELDAY}, voiding ok",
            "pt email {EMAIL}, prefers contact there. cell {PHONE}",
            "went to {OSH} er {PRIOR} for same, told it was {DX}",
            "moved to {STREET} {CITY} last month, needs new pcp",
            "insurance changed - new member id {PLAN}",
            "mri done {PRIOR2} at {OSH}, report pending. {DR2_LAST} to review",
            "son/daughter worried, call {REL_NAME} at {REL_PHONE} w/ results",
            "fell at {PLACE} {RELDAY}, no head strike", "volunteers at {PLACE} on weekends, active"]),
        ("labs", 0.6, (1, 1), "\n", ["labs {LABS}", "bw: {LABS}"]),
        ("exam", 0.6, (1, 1), "\n", ["pe: {EXAM}", "exam {EXAM}"]),
        ("plan", 1, (1, 1), "\n", [
            "plan: cont meds, rtc {FU}. {DR_INIT}",
            "a/p: likely viral, supportive care, call if worse. -{RN}",
            "plan - labs, ekg, f/u w/ dr {DR_LAST} {FU}",
            "will refer to {DR2_T} at {CLINIC}, fax referral {FAX}. -{DR_INIT}",
            "rx {DRUG}, sent to {PHARMACY}. f/u 2 wks",
            "d/w dr {DR_LAST}, ok to continue. pt aware. {USER}"]),
        ADMIN],
}
CASE = {"nursing": str.upper, "sloppy": str.lower}
PLAN_LABELS = ["Medicare ID", "Medicaid #", "BCBS member ID", "Aetna ID", "MassHealth #", "policy no.",
               "Harvard Pilgrim member #", "Tufts plan ID", "UHC subscriber ID", "Cigna ID"]
SCANNERS = ["Siemens SOMATOM Force", "GE Revolution CT", "Philips Ingenia 3T", "Canon Aplio i800", "GE Logiq E10"]
RELDAYS = ["yesterday", "today", "this morning", "last night", "2 days ago", "overnight", "earlier today",
           "last week", "on POD 2", "on HD#3", "tonight", "this afternoon"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "tomorrow"]
RELATIONS = {"M": ["son", "husband", "brother", "nephew", "grandson"],
             "F": ["daughter", "wife", "sister", "niece", "granddaughter"]}


@dataclass
class Patient:
    """Everything that stays the same across one patient's notes."""

    pid: str
    person: Person
    age: int
    base: date
    dob: date
    street: str
    city: str
    state: tuple[str, str]
    zip: str
    phone: str
    email: str
    ssn: str
    mrn: str
    plan: str
    plan_label: str
    relative: Person
    relation: str
    rel_phone: str
    pcp: Person
    hospital: tuple[str, str]
    employer: str
    pharmacy: str
    plate: str
    vin: str
    device: str


class Context:
    """Fills template fields for one note: gold pieces for PHI, plain text for everything else."""

    def __init__(self, v: Values, pt: Patient, note_index: int, style: str) -> None:
        self.v, self.pt, self.rng, self.style = v, pt, v.rng, style
        rng = self.rng
        self.adm = pt.base + timedelta(days=note_index * rng.randint(20, 200))
        self.dc = self.adm + timedelta(days=rng.randint(2, 12))
        self.note_date = {"nursing": self.adm + timedelta(days=rng.randint(0, (self.dc - self.adm).days)),
                          "discharge": self.dc}.get(style, self.adm)
        self.dr, self.dr2, self.rad, self.ref, self.rn = (v.person() for _ in range(5))
        self.osh = v.hospital()[0]
        self.clinic = self._clinic()
        self.c_street, self.c_city, self.c_zip = v.us.street_address(), v.city(), v.us.zipcode()
        self.acct = rng.choice([v.digits(10), "A" + v.digits(8), v.digits(3) + "-" + v.digits(6)])
        self.facility = f"{rng.choice([v.us.last_name(), v.city(), rng.choice(v.hosp_head)])} {rng.choice(FACILITY)}"
        self.drugs = half(DRUGS, v.split)

    def _clinic(self) -> str:
        v, rng = self.v, self.rng
        return rng.choice([f"{v.city()} Family Practice", f"{v.us.last_name()} Cardiology Associates",
                           f"{rng.choice(v.hosp_head)} Primary Care", f"{v.city()} Community Health Center",
                           f"{v.us.last_name()} Internal Medicine", f"{v.city()} Neurology Group"])

    # -- value forms ------------------------------------------------------------------------------------------------
    def name(self, p: Person, label: str, form: str) -> list[Piece]:
        rng = self.rng
        title = {"M": "Mr.", "F": rng.choice(["Ms.", "Mrs."])}[p.sex]
        forms = {
            "full": lambda: rng.choice([f"{p.first} {p.last}", f"{p.first} {p.middle[0]}. {p.last}",
                                        f"{p.last}, {p.first}", f"{p.first} {p.last}"]),
            "caps": lambda: rng.choice([f"{p.last.upper()}, {p.first.upper()}", f"{p.last}, {p.first}",
                                        f"{p.last.upper()}, {p.first.upper()} {p.middle[0]}"]),
            "first": lambda: p.first, "last": lambda: p.last, "init": lambda: p.initials(rng)}
        if form == "title":
            return [title + " ", (label, p.last)] if label != "DOCTOR" else \
                rng.choice([["Dr. ", (label, p.last)], ["Dr ", (label, p.last)], ["Dr. ", (label, f"{p.first} {p.last}")]])
        return [(label, forms[form]())]

    def date(self, d: date) -> list[Piece]:
        fmt = self.rng.choice(DATE_FORMATS)
        text = fmt(d)
        if text.startswith("the "):
            return ["the ", ("DATE", text[4:])]
        return [("DATE", text)]

    def phone(self, value: str | None = None) -> list[Piece]:
        return [("PHONE", value or self.v.phone())]

    def fill(self, key: str) -> list[Piece]:
        v, pt, rng, p = self.v, self.pt, self.rng, self.pt.person
        he, his, him = (("he", "his", "him") if p.sex == "M" else ("she", "her", "her"))
        table: dict[str, Callable[[], list[Piece]]] = {
            "PT": lambda: self.name(p, "PATIENT", "full"), "PT_CAPS": lambda: self.name(p, "PATIENT", "caps"),
            "PT_FIRST": lambda: self.name(p, "PATIENT", "first"), "PT_LAST": lambda: self.name(p, "PATIENT", "last"),
            "PT_LAST_T": lambda: self.name(p, "PATIENT", "title"), "PT_INIT": lambda: self.name(p, "PATIENT", "init"),
            "AGE": lambda: age_phrase(rng, pt.age, p.sex),
            "AGE_MF": lambda: age_phrase(rng, pt.age, p.sex, with_sex=True),
            "AGE_NUM": lambda: [("AGE", str(pt.age)) if pt.age > 89 else str(pt.age)],
            "SEX": lambda: ["male" if p.sex == "M" else "female"], "MF": lambda: [p.sex],
            "HE": lambda: [he.capitalize()], "he": lambda: [he], "his": lambda: [his], "him": lambda: [him],
            "REL_NAME": lambda: self.name(pt.relative, "RELATIVE", rng.choice(["full", "first", "first"])),
            "REL_WORD": lambda: [pt.relation], "REL_PHONE": lambda: self.phone(pt.rel_phone),
            "DR": lambda: self.name(self.dr, "DOCTOR", "full"), "DR_LAST": lambda: self.name(self.dr, "DOCTOR", "last"),
            "DR_T": lambda: self.name(self.dr, "DOCTOR", "title"), "DR_INIT": lambda: self.name(self.dr, "DOCTOR", "init"),
            "DR2": lambda: self.name(self.dr2, "DOCTOR", "full"), "DR2_LAST": lambda: self.name(self.dr2, "DOCTOR", "last"),
            "DR2_T": lambda: self.name(self.dr2, "DOCTOR", "title"), "PCP_T": lambda: self.name(pt.pcp, "DOCTOR", "title"),
            "RAD": lambda: self.name(self.rad, "DOCTOR", "full"), "RAD_LAST": lambda: self.name(self.rad, "DOCTOR", "last"),
            "RAD_INIT": lambda: self.name(self.rad, "DOCTOR", "init"), "REF": lambda: self.name(self.ref, "DOCTOR", "full"),
            "REF_T": lambda: self.name(self.ref, "DOCTOR", "title"), "REF_LAST": lambda: self.name(self.ref, "DOCTOR", "last"),
            "REF_FIRST": lambda: self.name(self.ref, "DOCTOR", "first"),
            "RN": lambda: self.name(self.rn, "DOCTOR", rng.choice(["first", "full"])),
            "USER": lambda: [("USERNAME", f"{self.rn.first[0]}{fold(self.rn.last).replace(' ', '')}{rng.randint(1, 99)}"
                              .lower())],
            "HOSP": lambda: [("HOSPITAL", pt.hospital[0])], "HOSP_ABBR": lambda: [("HOSPITAL", pt.hospital[1])],
            "OSH": lambda: [("HOSPITAL", self.osh)], "CLINIC": lambda: [("HOSPITAL", self.clinic)],
            "FACILITY": lambda: [("HOSPITAL", self.facility)], "EMPLOYER": lambda: [("ORGANIZATION", pt.employer)],
            "PHARMACY": lambda: [("ORGANIZATION", pt.pharmacy)],
            "PLACE": self._place,
            "STREET": lambda: [("STREET", pt.street)], "CITY": lambda: [("CITY", pt.city)],
            "STATE": lambda: [("STATE", rng.choice(pt.state))], "ZIP": lambda: [("ZIP", pt.zip)],
            "C_STREET": lambda: [("STREET", self.c_street)], "C_CITY": lambda: [("CITY", self.c_city)],
            "C_ZIP": lambda: [("ZIP", self.c_zip)], "COUNTRY": self._country,
            "PHONE": lambda: self.phone(pt.phone), "CLINIC_PHONE": lambda: self.phone(),
            "PAGER": lambda: rng.choice([[("PHONE", v.digits(5))], [("PHONE", f"{v.digits(3)}-{v.digits(4)}")],
                                         ["#", ("PHONE", v.digits(4))]]),
            "FAX": lambda: [("FAX", v.phone())], "EMAIL": lambda: [("EMAIL", pt.email)],
            "DR_EMAIL": lambda: [("EMAIL", f"{self.dr.first[0]}{fold(self.dr.last).replace(' ', '')}@"
                                  f"{v.us.domain_name()}".lower())],
            "URL": self._url, "IP": lambda: [("IPADDR", rng.choice([v.us.ipv4_private(), v.us.ipv4_public(),
                                                                    v.us.ipv4_private(), v.us.ipv6()]))],
            "MRN": lambda: [("MEDICALRECORD", pt.mrn)], "ACCT": lambda: [("ACCOUNT", self.acct)],
            "SSN": lambda: [("SSN", pt.ssn)], "PLAN": lambda: [("HEALTHPLAN", pt.plan)],
            "PLAN_LABEL": lambda: [pt.plan_label],
            "DEA": lambda: [("LICENSE", v.letters(2) + v.digits(7))], "NPI": lambda: [("LICENSE", "1" + v.digits(9))],
            "LIC": lambda: [("LICENSE", rng.choice(["MD", "RN", ""]) + v.digits(rng.randint(5, 7)))],
            "DEVICE_SN": lambda: [("DEVICE", pt.device)],
            "PLATE": lambda: [("VEHICLE", pt.plate)], "VIN": lambda: [("VEHICLE", pt.vin)],
            "ACC_NO": lambda: [("IDNUM", rng.choice([v.digits(8), f"{v.letters(2)}-{v.digits(2)}-{v.digits(6)}",
                                                     "E" + v.digits(9)]))],
            "STUDY_ID": lambda: [("IDNUM", rng.choice([f"{v.letters(2)}-{v.digits(4)}-{v.digits(3)}", v.digits(6),
                                                       f"{v.letters(3)}{v.digits(5)}"]))],
            "ADM": lambda: self.date(self.adm), "DC": lambda: self.date(self.dc),
            "DC_NEXT": lambda: self.date(self.dc + timedelta(days=1)), "DOB": lambda: self.date(pt.dob),
            "NOTE_DATE": lambda: self.date(self.note_date),
            "FU": lambda: self.date(self.dc + timedelta(days=rng.randint(5, 60))),
            "PRIOR": lambda: self.date(self.adm - timedelta(days=rng.randint(20, 400))),
            "PRIOR2": lambda: self.date(self.adm - timedelta(days=rng.randint(401, 900))),
            "ONSET": lambda: self.date(self.adm - timedelta(days=rng.randint(1, 10))),
            "DATE_IN": lambda: self.date(self.adm + timedelta(days=rng.randint(0, (self.dc - self.adm).days))),
            "SURG_DATE": lambda: self.date(self.adm + timedelta(days=rng.randint(0, 2))),
            "MONTH_YEAR": lambda: [("DATE", f"{MONTHS[self.adm.month - 1]} {self.adm.year - 1}")],
            # plain clinical text (negatives included on purpose)
            "CC": lambda: [v.deck("cc", COMPLAINTS)], "DX": lambda: [v.deck("dx", EPONYM_DX)],
            "EXAM_EPONYM": lambda: [v.deck("exam", EPONYM_EXAM)], "DEVICE_EPONYM": lambda: [v.deck("dev", EPONYM_DEVICE)],
            "DRUG": lambda: [rng.choice(self.drugs)],
            "MEDLIST": lambda: ["\n".join(f"{i}. {d}" for i, d in enumerate(rng.sample(self.drugs, rng.randint(3, 6)), 1))],
            "MEDS_INLINE": lambda: ["; ".join(rng.sample(self.drugs, rng.randint(2, 4)))],
            "PMH_LIST": lambda: [", ".join(rng.sample(half(PMH, v.split), rng.randint(2, 4)))],
            "VITALS": lambda: [(f"T {rng.choice(['98.4', '99.1', '100.9', '37.2'])} HR {rng.randint(58, 118)} BP "
                               f"{rng.randint(95, 170)}/{rng.randint(50, 98)} RR {rng.randint(12, 26)} SpO2 "
                               f"{rng.randint(89, 100)}%")],
            "BP": lambda: [f"{rng.randint(110, 150)}/{rng.randint(60, 92)}"], "PAIN": lambda: [str(rng.randint(0, 10))],
            "ROOM": lambda: [rng.choice(ROOMS)], "TIME": lambda: [rng.choice(["0800", "14:30", "3pm", "21:30", "06:45",
                                                                               "11 am", "19:15", "noon", "0730"])],
            "YEAR": lambda: [str(self.adm.year - rng.randint(1, 15))], "RELDAY": lambda: [rng.choice(RELDAYS)],
            "WEEKDAY": lambda: [rng.choice(WEEKDAYS)], "SCANNER": lambda: [rng.choice(SCANNERS)],
            "LABS": self._labs, "ROS": self._ros, "EXAM": self._exam, "PLAN_ITEMS": self._plan_items,
            "ORGANS": lambda: [" ".join(rng.sample(half(ORGANS, v.split), rng.randint(3, 5)))],
        }
        cap = key.endswith("^")
        pieces = table[key.rstrip("^")]()
        if cap and pieces and isinstance(pieces[0], str):
            pieces = [pieces[0][:1].upper() + pieces[0][1:], *pieces[1:]]
        return pieces

    def _labs(self) -> list[Piece]:
        rng = self.rng
        items = rng.sample(LABS, rng.randint(4, 8))
        vals = [(name, f"{rng.uniform(lo, hi):.{nd}f}") for name, lo, hi, nd in items]
        n = [f"{rng.uniform(lo, hi):.{nd}f}" for _, lo, hi, nd in LABS[:7]]
        formats = [lambda: ", ".join(f"{a} {b}" for a, b in vals),  # split by position like every template
                   lambda: " | ".join(f"{a}: {b}" for a, b in vals),
                   lambda: f"BMP {n[0]}/{n[1]}/{n[2]}/{n[3]}/{n[4]}/{n[5]}<{n[6]}",
                   lambda: "\n".join(f"{a:<8}{b}{rng.choice(['', ' (H)', ' (L)'])}" for a, b in vals),
                   lambda: "  ".join(f"{a} {b}" for a, b in vals),
                   lambda: f"CBC {rng.uniform(3, 18):.1f} > {rng.uniform(7, 15):.1f}/{rng.uniform(22, 45):.1f} < "
                           f"{rng.randint(90, 450)}"]
        return [rng.choice(half(formats, self.v.split))()]

    def _ros(self) -> list[Piece]:
        rng = self.rng
        a, *rest = rng.sample(half(SYMPTOMS, self.v.split), rng.randint(4, 7))
        formats = [f"negative for {', '.join(rest)} except as in HPI", f"positive for {a}; denies {', '.join(rest)}",
                   f"(-) {', '.join(rest)}; (+) {a}", f"pt endorses {a}, no {', no '.join(rest)}"]
        return [rng.choice(half(formats, self.v.split))]

    def _exam(self) -> list[Piece]:
        rng = self.rng
        systems = rng.sample(list(EXAM), rng.randint(5, 9))
        sep = rng.choice(half([". ", "\n", "; ", "\n- "], self.v.split))
        return [sep.join(f"{k}: {rng.choice(half(EXAM[k], self.v.split))}" for k in systems)]

    def _plan_items(self) -> list[Piece]:
        rng, v = self.rng, self.v
        items = rng.sample(half(PROBLEMS, v.split), rng.randint(2, 4))
        mark = rng.choice(half(["# ", "", "- ", "#"], v.split))
        lines = [f"{mark or f'{i}. '}{p}: {a}" + (f"; {rng.choice(half(ACTIONS, v.split))}." if rng.random() < .5
                                                  else ".") for i, (p, a) in enumerate(items, 1)]
        return ["\n".join(lines)]

    def _country(self) -> list[Piece]:
        c = self.rng.choice(COUNTRIES)
        return ["the ", ("COUNTRY", c[4:])] if c.startswith("the ") else [("COUNTRY", c)]

    def _place(self) -> list[Piece]:
        v, rng = self.v, self.rng
        name = rng.choice([f"{v.us.last_name()} Park", f"{v.city()} Mall", f"{v.city()} YMCA", f"Lake {v.us.last_name()}",
                           f"{v.city()} Senior Center", f"{v.city()} Public Library", f"{v.us.last_name()} Stadium",
                           f"Camp {v.us.last_name()}", f"{v.us.last_name()} Beach", f"{v.city()} Transit Center"])
        return ["the ", ("LOCATION-OTHER", name)] if rng.random() < 0.5 else [("LOCATION-OTHER", name)]

    def _url(self) -> list[Piece]:
        v, rng = self.v, self.rng
        host = "".join(ch for ch in self.pt.hospital[1].lower() if ch.isalnum()) or "hosp"
        return [("URL", rng.choice([f"https://mychart.{host}.org/patient/{v.digits(6)}",
                                    f"www.{host}health.org/portal", v.us.url() + f"results?id={v.digits(7)}",
                                    f"https://portal.{v.us.domain_name()}/visit/{v.letters(4).lower()}{v.digits(4)}"]))]


# -- assembly --------------------------------------------------------------------------------------------------------
def render(pieces: list[Piece], case: Callable[[str], str] | None) -> tuple[str, list[tuple[int, int, str]]]:
    """Join pieces into text, recording (start, end, label) for the gold ones; ``case`` applies per piece."""
    out, spans, pos = [], [], 0
    for piece in pieces:
        label, value = (None, piece) if isinstance(piece, str) else piece
        value = case(value) if case else value
        if label is not None:
            spans.append((pos, pos + len(value), label))
        out.append(value)
        pos += len(value)
    return "".join(out), spans


def expand(template: str, ctx: Context) -> list[Piece]:
    pieces: list[Piece] = []
    for literal, key, _, _ in string.Formatter().parse(template):
        pieces.append(literal)
        if key:
            pieces += ctx.fill(key)
    return pieces


def make_note(ctx: Context, style: str, split: str) -> tuple[str, list[tuple[int, int, str]]]:
    rng = ctx.rng
    pieces: list[Piece] = []
    for _name, prob, (lo, hi), sep, variants in STYLE_SECTIONS[style]:
        if rng.random() > prob:
            continue
        mine = half(variants, split)
        chosen = rng.sample(mine, min(len(mine), rng.randint(lo, hi)))
        for i, template in enumerate(chosen):
            if i:
                pieces.append(sep)
            pieces += expand(template, ctx)
        pieces.append("\n\n" if style != "sloppy" else "\n")
    case = CASE.get(style) or (str.upper if style == "triage" and rng.random() < 0.3 else None)
    text, spans = render(pieces, case)
    return text.rstrip() + "\n", spans


def make_patient(v: Values, pid: str) -> Patient:
    rng, us = v.rng, v.us
    person = v.person()
    age = rng.randint(90, 104) if rng.random() < 0.2 else rng.randint(19, 89)
    base = date(rng.choice([rng.randint(2009, 2024), rng.randint(2060, 2099)]), rng.randint(1, 12), rng.randint(1, 28))
    dob = base - timedelta(days=age * 365 + rng.randint(1, 360))
    rel_sex = rng.choice("MF")
    relative = v.person(rel_sex)
    if rng.random() < 0.5:
        relative.last = person.last
    mrn = rng.choice([v.digits(7), v.digits(8), f"{v.digits(2)}-{v.digits(3)}-{v.digits(2)}", "00" + v.digits(8),
                      f"MR{v.digits(6)}"])
    plan = rng.choice([(f"{v.digits(1)}{v.letters(2)}{v.digits(1)}-{v.letters(2)}{v.digits(1)}-{v.letters(2)}"
                       f"{v.digits(2)}"), f"{v.letters(3)}{v.digits(9)}", f"W{v.digits(9)}", v.digits(12),
                       f"{v.letters(2)}{v.digits(7)}-{v.digits(2)}"])
    ssn = us.ssn()
    device = rng.choice([f"{v.letters(3)}{v.digits(6)}{v.letters(1)}", f"SN{v.digits(8)}", f"{v.letters(2)}{v.digits(7)}",
                         f"(01){v.digits(14)}(21){v.letters(3)}{v.digits(5)}"])
    hosp = v.hospital()
    street = us.street_address()
    if rng.random() < .3 and not any(w in street for w in ("Apt", "Suite")):
        street += f" {us.secondary_address()}"
    return Patient(
        pid, person, age, base, dob, street,
        v.city(), rng.choice(half(STATES, v.split)), us.zipcode_plus4() if rng.random() < .2 else us.zipcode(),
        v.phone(), f"{fold(person.first)}.{fold(person.last)}{rng.randint(1, 99)}@{us.free_email_domain()}"
        .lower().replace(" ", ""), ssn if rng.random() < .8 else ssn.replace("-", ""), mrn, plan,
        rng.choice(half(PLAN_LABELS, v.split)), relative, rng.choice(RELATIONS[rel_sex]), v.phone(), v.person(), hosp,
        us.company(), f"{rng.choice([us.last_name(), v.city()])} {rng.choice(['Pharmacy', 'Drug', 'Apothecary'])}",
        rng.choice([us.license_plate(), f"{v.digits(1)}{v.letters(3)}{v.digits(3)}", f"{v.letters(3)}-{v.digits(4)}"]),
        us.vin(), device)


def make_split(split: str, per_style: int, seed: int) -> list[AnnotatedNote]:
    """``per_style`` notes of every style; each patient has 1-3 notes of different styles."""
    rng = random.Random(f"{seed}-{split}")
    v = Values(split, rng)
    slots = [s for s in STYLES for _ in range(per_style)]
    rng.shuffle(slots)
    notes: list[AnnotatedNote] = []
    prefix = "D" if split == "dev" else "T"
    group: list[str] = []
    groups: list[list[str]] = []
    for style in slots:
        if style in group or len(group) >= rng.choice([1, 2, 3]):
            groups.append(group)
            group = []
        group.append(style)
    groups.append(group)
    for i, styles in enumerate(g for g in groups if g):
        pt = make_patient(v, f"{prefix}{i + 1:03d}")
        for k, style in enumerate(styles):
            text, items = make_note(Context(v, pt, k, style), style, split)
            spans, excluded = [], []
            for start, end, label in items:
                category = map_category(label, text[start:end])
                if category is None:
                    excluded.append(ExcludedSpan(start, end, label, text[start:end]))
                else:
                    spans.append(PhiSpan(start, end, category, text[start:end], 1.0, label))
            notes.append(AnnotatedNote(pt.pid, f"{k + 1}-{style}", text, tuple(spans), tuple(excluded)))
    return notes


def check(notes: list[AnnotatedNote]) -> None:
    for n in notes:
        for s in [*n.spans, *n.excluded]:
            value = n.text[s.start:s.end]
            assert value and value == value.strip(), (n.patient, n.note, value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--per-style", type=int, nargs=2, default=(16, 24), metavar=("DEV", "TEST"))
    args = parser.parse_args(argv)
    for split, n in zip(("dev", "test"), args.per_style):
        notes = make_split(split, n, args.seed)
        check(notes)
        gold = write_physionet(notes, args.out / f"{split}.text")
        back = read_physionet(args.out / f"{split}.text", gold)
        assert [(n.spans, n.excluded) for n in back] == [(n.spans, n.excluded) for n in notes]
        counts = Counter(s.category.value for n in notes for s in n.spans)
        size = sum((args.out / f).stat().st_size for f in (f"{split}.text", f"{split}.phi"))
        print(f"{split}: {len(notes)} notes, {sum(counts.values())} PHI spans, {size // 1024} KB; "
              + ", ".join(f"{k} {c}" for k, c in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
