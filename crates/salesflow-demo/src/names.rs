//! Small built-in word lists for synthetic (but plausible) people and companies.

/// Female first names.
pub(crate) const FIRST_F: &[&str] = &[
    "Olivia", "Emma", "Ava", "Sophia", "Mia", "Amelia", "Harper", "Evelyn", "Abigail", "Emily",
    "Ella", "Chloe", "Grace", "Nora", "Lucia", "Hannah", "Clara", "Julia", "Sara", "Leonie",
    "Ingrid", "Yuki", "Priya", "Ana", "Fatima",
];
/// Male first names.
pub(crate) const FIRST_M: &[&str] = &[
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry", "Theo",
    "Jack", "Leo", "Daniel", "Samuel", "Mateo", "Felix", "Jonas", "Hugo", "Luca", "Erik", "Kenji",
    "Arjun", "Rafael", "Omar", "David",
];
/// Gender-neutral first names.
pub(crate) const FIRST_X: &[&str] = &[
    "Alex", "Sam", "Jordan", "Taylor", "Robin", "Charlie", "Morgan", "Riley", "Jamie", "Kai",
];
/// Last names.
pub(crate) const LAST: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martin",
    "Lopez", "Wilson", "Anderson", "Thomas", "Moore", "Jackson", "Lee", "Walker", "Hall", "Young",
    "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell",
    "Roberts", "Carter", "Phillips", "Evans", "Turner", "Mueller", "Schmidt", "Dubois", "Rossi",
    "Tanaka", "Sato", "Silva", "Santos", "Patel", "Sharma", "Novak", "Nilsson", "Jansen",
    "Kowalski",
];
/// First word of a company name.
pub(crate) const COMPANY_A: &[&str] = &[
    "Blue", "North", "Bright", "Summit", "Pioneer", "Atlas", "Cedar", "Harbor", "Nova", "Silver",
    "Maple", "Granite", "Lumen", "Orbit", "Vertex", "Copper", "Willow", "Falcon", "Iron", "Coral",
];
/// Second word of a company name.
pub(crate) const COMPANY_B: &[&str] = &[
    "Labs",
    "Works",
    "Studio",
    "Systems",
    "Partners",
    "Supply",
    "Media",
    "Goods",
    "Digital",
    "Ventures",
    "Logistics",
    "Health",
    "Foods",
    "Analytics",
    "Design",
    "Robotics",
];
/// `(ISO country code, legal-form suffix, weight)`.
pub(crate) const COUNTRIES: &[(&str, &str, f64)] = &[
    ("US", "Inc", 0.34),
    ("GB", "Ltd", 0.12),
    ("DE", "GmbH", 0.10),
    ("FR", "SAS", 0.07),
    ("CA", "Inc", 0.07),
    ("AU", "Pty Ltd", 0.05),
    ("NL", "B.V.", 0.04),
    ("ES", "S.L.", 0.04),
    ("IT", "S.r.l.", 0.04),
    ("SE", "AB", 0.03),
    ("JP", "K.K.", 0.03),
    ("BR", "Ltda", 0.03),
    ("IN", "Pvt Ltd", 0.04),
];
/// `(industry, weight)`.
pub(crate) const INDUSTRIES: &[(&str, f64)] = &[
    ("software", 0.20),
    ("retail", 0.15),
    ("healthcare", 0.10),
    ("finance", 0.10),
    ("education", 0.08),
    ("manufacturing", 0.10),
    ("media", 0.08),
    ("hospitality", 0.06),
    ("logistics", 0.06),
    ("nonprofit", 0.04),
    ("real estate", 0.03),
];
/// The six sales reps who own deals, with a multiplier on their proposal
/// win rate (a genuine owner effect).
pub(crate) const OWNERS: &[(&str, f64)] = &[
    ("Alice Moreau", 1.20),
    ("Ben Okafor", 1.05),
    ("Chloe Tanaka", 0.80),
    ("Diego Alvarez", 1.10),
    ("Emma Lindqvist", 0.95),
    ("Farid Haddad", 0.85),
];
