/**
 * Topics of the labelled retrieval corpus: two documents per topic (siblings share the topic's
 * vocabulary, which makes telling them apart the hard part), each with its distinctive words, a
 * reference code, and a hand-written paraphrased question whose words only partly occur in it.
 */
export interface DocSpec {
  title: string;
  /** Distinctive words, used in the document's sentences and in keyword queries. */
  terms: string[];
  /** A question as a user would ask it: few of the document's own words. */
  paraphrase: string;
}

export interface TopicSpec {
  code: string;
  /** Words both documents of the topic use. */
  shared: string[];
  docs: [DocSpec, DocSpec];
}

export const TOPICS: TopicSpec[] = [
  {
    code: "SRD",
    shared: ["sourdough", "dough", "bread"],
    docs: [
      {
        title: "Feeding a sourdough starter",
        terms: ["starter", "levain", "flour", "feeding", "jar", "bubbles", "discard", "rye"],
        paraphrase: "how often should the bubbly culture in my jar be fed and what happens to the leftover discard",
      },
      {
        title: "Shaping and proofing loaves",
        terms: ["loaf", "shaping", "proofing", "banneton", "crumb", "scoring", "lame", "oven"],
        paraphrase: "loaves come out flat with a tight crumb, could the proofing basket be the reason",
      },
    ],
  },
  {
    code: "K8S",
    shared: ["kubernetes", "cluster", "pods"],
    docs: [
      {
        title: "Autoscaling workloads",
        terms: ["autoscaler", "replicas", "cpu", "metrics", "hpa", "deployment", "threshold", "scaling"],
        paraphrase: "add more copies automatically when processor usage climbs past a threshold",
      },
      {
        title: "Ingress and TLS certificates",
        terms: ["ingress", "certificate", "tls", "hostname", "controller", "secret", "annotation", "letsencrypt"],
        paraphrase: "serve my hostname over https with a free certificate from letsencrypt",
      },
    ],
  },
  {
    code: "PGS",
    shared: ["postgres", "database", "queries"],
    docs: [
      {
        title: "Vacuum and table bloat",
        terms: ["vacuum", "autovacuum", "bloat", "tuples", "dead", "freeze", "wraparound", "analyze"],
        paraphrase: "tables keep growing on disk even though rows get deleted, dead tuples everywhere",
      },
      {
        title: "Choosing indexes",
        terms: ["index", "btree", "gin", "planner", "explain", "selectivity", "composite", "scan"],
        paraphrase: "the planner ignores my composite index and does a sequential scan instead",
      },
    ],
  },
  {
    code: "TAX",
    shared: ["tax", "return", "filing"],
    docs: [
      {
        title: "Deductions for freelancers",
        terms: ["deduction", "freelancer", "receipts", "expenses", "mileage", "office", "invoice", "quarterly"],
        paraphrase: "which business costs can a self-employed person subtract, like mileage or a home office",
      },
      {
        title: "Filing deadlines and extensions",
        terms: ["deadline", "extension", "penalty", "april", "estimated", "payment", "interest", "late"],
        paraphrase: "missed the april date, how big is the penalty and can I still get an extension",
      },
    ],
  },
  {
    code: "TOM",
    shared: ["tomato", "garden", "plants"],
    docs: [
      {
        title: "Staking and pruning tomatoes",
        terms: ["staking", "pruning", "suckers", "cage", "vines", "indeterminate", "trellis", "stems"],
        paraphrase: "should I pinch off the little shoots between the stem and branches on my vines",
      },
      {
        title: "Blight and leaf diseases",
        terms: ["blight", "fungus", "spots", "leaves", "copper", "spray", "wilting", "rotation"],
        paraphrase: "brown spots spreading on lower leaves, is a copper spray worth it",
      },
    ],
  },
  {
    code: "RUN",
    shared: ["marathon", "running", "training"],
    docs: [
      {
        title: "Long run pacing",
        terms: ["pace", "long", "mileage", "tempo", "heart", "zone", "aerobic", "taper"],
        paraphrase: "how slow should the weekend long effort feel, staying in the aerobic heart zone",
      },
      {
        title: "Fueling on race day",
        terms: ["gel", "carbohydrate", "hydration", "electrolytes", "breakfast", "fueling", "bonk", "sodium"],
        paraphrase: "avoid hitting the wall, how many gels and how much sodium during the race",
      },
    ],
  },
  {
    code: "COF",
    shared: ["coffee", "beans", "brew"],
    docs: [
      {
        title: "Espresso extraction",
        terms: ["espresso", "grinder", "portafilter", "tamping", "crema", "extraction", "bitter", "shot"],
        paraphrase: "my shot tastes sour then bitter, grind finer or tamp harder with the portafilter",
      },
      {
        title: "Pour-over ratios",
        terms: ["pourover", "kettle", "filter", "bloom", "ratio", "grams", "dripper", "gooseneck"],
        paraphrase: "what water to grounds ratio in grams for a dripper with a gooseneck kettle",
      },
    ],
  },
  {
    code: "DOG",
    shared: ["dog", "puppy", "training"],
    docs: [
      {
        title: "Leash pulling",
        terms: ["leash", "pulling", "harness", "walk", "heel", "treats", "collar", "reward"],
        paraphrase: "my pup drags me down the street on walks, would a harness help",
      },
      {
        title: "Crate training at night",
        terms: ["crate", "night", "whining", "bedtime", "potty", "blanket", "routine", "sleep"],
        paraphrase: "new puppy cries in the crate at bedtime, how to build a calm routine",
      },
    ],
  },
  {
    code: "SOL",
    shared: ["solar", "panels", "energy"],
    docs: [
      {
        title: "Sizing an inverter",
        terms: ["inverter", "kilowatt", "string", "voltage", "microinverter", "rooftop", "capacity", "wiring"],
        paraphrase: "do I need one big box or microinverter units for a small rooftop array",
      },
      {
        title: "Home battery storage",
        terms: ["battery", "storage", "lithium", "backup", "outage", "discharge", "cycles", "grid"],
        paraphrase: "keep the lights on during a grid outage with stored power from lithium cells",
      },
    ],
  },
  {
    code: "BIK",
    shared: ["bicycle", "bike", "ride"],
    docs: [
      {
        title: "Chain care",
        terms: ["chain", "lube", "degreaser", "derailleur", "cassette", "wear", "links", "shifting"],
        paraphrase: "gears skip and the drivetrain is grimy, which degreaser and lube to use",
      },
      {
        title: "Fixing a flat tire",
        terms: ["tire", "tube", "puncture", "patch", "levers", "valve", "pump", "pressure"],
        paraphrase: "got a puncture on the road, patch the tube or carry a spare and a mini pump",
      },
    ],
  },
  {
    code: "PHO",
    shared: ["photography", "camera", "photo"],
    docs: [
      {
        title: "Exposure triangle",
        terms: ["aperture", "shutter", "iso", "exposure", "noise", "stops", "depth", "field"],
        paraphrase: "pictures are grainy in dim light, should I raise iso or slow the shutter",
      },
      {
        title: "Composition basics",
        terms: ["composition", "thirds", "framing", "leading", "lines", "horizon", "subject", "symmetry"],
        paraphrase: "make landscape shots more interesting with leading lines and a straight horizon",
      },
    ],
  },
  {
    code: "AQU",
    shared: ["aquarium", "tank", "fish"],
    docs: [
      {
        title: "Cycling a new tank",
        terms: ["cycling", "ammonia", "nitrite", "nitrate", "bacteria", "test", "kit", "water"],
        paraphrase: "new tank, ammonia readings are high and the fish look stressed, how long until it settles",
      },
      {
        title: "Choosing a filter",
        terms: ["filter", "canister", "flow", "sponge", "media", "gallons", "hang", "turnover"],
        paraphrase: "canister or sponge, what flow rate per gallon does a tank need",
      },
    ],
  },
  {
    code: "BEE",
    shared: ["bees", "hive", "beekeeping"],
    docs: [
      {
        title: "Inspecting a hive",
        terms: ["inspection", "frames", "brood", "queen", "smoker", "veil", "comb", "eggs"],
        paraphrase: "how do I know the queen is laying when looking through the frames with a smoker",
      },
      {
        title: "Harvesting honey",
        terms: ["honey", "extractor", "supers", "capped", "uncapping", "moisture", "jars", "harvest"],
        paraphrase: "when are supers ready to pull and how to spin honey out with an extractor",
      },
    ],
  },
  {
    code: "CHS",
    shared: ["chess", "opening", "moves"],
    docs: [
      {
        title: "The Sicilian Defense",
        terms: ["sicilian", "najdorf", "dragon", "pawn", "black", "counterattack", "variation", "kingside"],
        paraphrase: "as black I want an aggressive counterattack against e4, is the najdorf too sharp",
      },
      {
        title: "Endgame principles",
        terms: ["endgame", "king", "opposition", "rook", "promotion", "zugzwang", "passed", "activity"],
        paraphrase: "king and pawn versus king, when does taking the opposition win",
      },
    ],
  },
  {
    code: "GTR",
    shared: ["guitar", "strings", "music"],
    docs: [
      {
        title: "Tuning by ear",
        terms: ["tuning", "pitch", "harmonics", "fret", "tuner", "drop", "intonation", "pegs"],
        paraphrase: "get in tune without an app, using harmonics and the fifth fret",
      },
      {
        title: "Changing strings",
        terms: ["restring", "gauge", "bridge", "winding", "nut", "stretch", "nylon", "steel"],
        paraphrase: "new set keeps going flat after I restring, should I stretch them first",
      },
    ],
  },
  {
    code: "MTG",
    shared: ["mortgage", "loan", "home"],
    docs: [
      {
        title: "When to refinance",
        terms: ["refinance", "rate", "closing", "costs", "breakeven", "term", "points", "lender"],
        paraphrase: "rates dropped a little, is it worth paying closing costs and when do I break even",
      },
      {
        title: "Fixed versus adjustable",
        terms: ["fixed", "adjustable", "arm", "index", "margin", "cap", "reset", "payment"],
        paraphrase: "what happens to my monthly payment when an adjustable loan resets after five years",
      },
    ],
  },
  {
    code: "CAR",
    shared: ["car", "vehicle", "engine"],
    docs: [
      {
        title: "Jump-starting a dead battery",
        terms: ["battery", "jumper", "cables", "terminal", "alternator", "dead", "clamp", "ground"],
        paraphrase: "vehicle will not crank in the cold, which order to attach the cables",
      },
      {
        title: "Changing the oil",
        terms: ["oil", "filter", "drain", "plug", "viscosity", "synthetic", "dipstick", "quarts"],
        paraphrase: "how many quarts of synthetic and when to swap the filter",
      },
    ],
  },
  {
    code: "KNT",
    shared: ["knitting", "yarn", "needles"],
    docs: [
      {
        title: "Casting on",
        terms: ["cast", "longtail", "stitches", "tension", "slipknot", "edge", "loops", "gauge"],
        paraphrase: "my first row of loops is way too tight, how to loosen the edge",
      },
      {
        title: "Reading a pattern",
        terms: ["pattern", "abbreviations", "purl", "decrease", "chart", "repeat", "round", "increase"],
        paraphrase: "what do the abbreviations for purl and decrease mean in a chart",
      },
    ],
  },
  {
    code: "WIN",
    shared: ["wine", "tasting", "grapes"],
    docs: [
      {
        title: "Tasting red wines",
        terms: ["tannin", "acidity", "body", "finish", "aroma", "decant", "cabernet", "oak"],
        paraphrase: "why does cabernet feel dry in the mouth and should I decant it",
      },
      {
        title: "Storing bottles",
        terms: ["cellar", "cork", "humidity", "temperature", "aging", "rack", "sideways", "vibration"],
        paraphrase: "keep bottles lying down in a cool cellar, what humidity stops the cork drying",
      },
    ],
  },
  {
    code: "CMP",
    shared: ["camping", "outdoors", "trip"],
    docs: [
      {
        title: "Choosing a tent",
        terms: ["tent", "rainfly", "footprint", "poles", "vestibule", "waterproof", "stakes", "freestanding"],
        paraphrase: "need a shelter that stays dry in storms, does a footprint and rainfly matter",
      },
      {
        title: "Sleeping warm",
        terms: ["sleeping", "bag", "pad", "insulation", "down", "rating", "liner", "cold"],
        paraphrase: "freezing at night even in a down bag, is the pad insulation the problem",
      },
    ],
  },
  {
    code: "PYP",
    shared: ["python", "package", "project"],
    docs: [
      {
        title: "Virtual environments",
        terms: ["venv", "virtualenv", "interpreter", "activate", "pip", "isolation", "site", "requirements"],
        paraphrase: "keep each project's libraries separate so pip installs do not clash",
      },
      {
        title: "Publishing to PyPI",
        terms: ["pypi", "wheel", "sdist", "pyproject", "twine", "upload", "metadata", "build"],
        paraphrase: "upload a wheel built from pyproject with twine",
      },
    ],
  },
  {
    code: "GIT",
    shared: ["git", "repository", "commits"],
    docs: [
      {
        title: "Rebasing a branch",
        terms: ["rebase", "interactive", "squash", "conflicts", "upstream", "history", "fixup", "onto"],
        paraphrase: "clean up my messy history before merging, squash the small fixup changes",
      },
      {
        title: "Recovering lost work",
        terms: ["reflog", "reset", "hard", "detached", "head", "cherry", "pick", "stash"],
        paraphrase: "I did a hard reset and lost changes, can reflog bring them back",
      },
    ],
  },
  {
    code: "EML",
    shared: ["email", "domain", "messages"],
    docs: [
      {
        title: "SPF, DKIM and DMARC",
        terms: ["spf", "dkim", "dmarc", "dns", "record", "signature", "alignment", "policy"],
        paraphrase: "mail lands in spam, which dns record proves the sender is allowed",
      },
      {
        title: "Warming up an IP",
        terms: ["warmup", "reputation", "volume", "bounces", "complaints", "throttling", "inbox", "sending"],
        paraphrase: "new sending address gets throttled, ramp up volume slowly to build reputation",
      },
    ],
  },
  {
    code: "PWD",
    shared: ["password", "security", "account"],
    docs: [
      {
        title: "Password managers",
        terms: ["manager", "vault", "master", "autofill", "generator", "unique", "sync", "breach"],
        paraphrase: "store a unique random secret for every site in one encrypted vault",
      },
      {
        title: "Two-factor authentication",
        terms: ["twofactor", "totp", "authenticator", "sms", "hardware", "key", "backup", "codes"],
        paraphrase: "is an authenticator app safer than a text message code, and where to keep backup codes",
      },
    ],
  },
  {
    code: "VAC",
    shared: ["vaccine", "health", "clinic"],
    docs: [
      {
        title: "Childhood immunization schedule",
        terms: ["immunization", "schedule", "measles", "infant", "booster", "pediatrician", "doses", "months"],
        paraphrase: "at how many months does a baby get the measles shot and the booster",
      },
      {
        title: "Travel vaccines",
        terms: ["travel", "typhoid", "yellow", "fever", "hepatitis", "destination", "certificate", "weeks"],
        paraphrase: "trip abroad soon, how many weeks before leaving for yellow fever and typhoid",
      },
    ],
  },
  {
    code: "SLP",
    shared: ["sleep", "night", "rest"],
    docs: [
      {
        title: "Sleep hygiene",
        terms: ["hygiene", "caffeine", "screens", "bedroom", "darkness", "schedule", "naps", "wind"],
        paraphrase: "cannot fall asleep, is caffeine after lunch or phone screens in bed to blame",
      },
      {
        title: "Insomnia and circadian rhythm",
        terms: ["insomnia", "circadian", "melatonin", "jetlag", "sunlight", "rhythm", "shift", "clock"],
        paraphrase: "body clock is off after a long flight, does morning sunlight or melatonin help",
      },
    ],
  },
  {
    code: "CPS",
    shared: ["compost", "garden", "soil"],
    docs: [
      {
        title: "Balancing greens and browns",
        terms: ["greens", "browns", "nitrogen", "carbon", "pile", "turning", "moisture", "smell"],
        paraphrase: "heap smells bad, add more dry leaves for carbon or turn it more",
      },
      {
        title: "Worm bins",
        terms: ["worms", "vermicompost", "bin", "bedding", "castings", "scraps", "redworms", "drainage"],
        paraphrase: "keeping redworms in a bin indoors, what bedding and which kitchen scraps",
      },
    ],
  },
  {
    code: "WDW",
    shared: ["woodworking", "wood", "joints"],
    docs: [
      {
        title: "Dovetail joints",
        terms: ["dovetail", "saw", "chisel", "pins", "tails", "marking", "gauge", "baseline"],
        paraphrase: "hand cut the pins and tails for a drawer with a saw and chisel",
      },
      {
        title: "Mortise and tenon",
        terms: ["mortise", "tenon", "shoulder", "cheek", "drawbore", "peg", "router", "glue"],
        paraphrase: "strong frame joint, cutting the shoulder and cheek, pin it with a drawbore peg",
      },
    ],
  },
  {
    code: "AST",
    shared: ["astronomy", "telescope", "sky"],
    docs: [
      {
        title: "Choosing a telescope",
        terms: ["refractor", "reflector", "dobsonian", "aperture", "mount", "focal", "eyepiece", "magnification"],
        paraphrase: "first scope for a beginner, is a dobsonian better than a refractor",
      },
      {
        title: "Observing planets",
        terms: ["planets", "jupiter", "saturn", "rings", "moons", "seeing", "opposition", "filters"],
        paraphrase: "best time to see the rings of saturn and the moons of jupiter",
      },
    ],
  },
  {
    code: "LNG",
    shared: ["language", "learning", "vocabulary"],
    docs: [
      {
        title: "Spaced repetition",
        terms: ["spaced", "repetition", "flashcards", "anki", "review", "interval", "forgetting", "curve"],
        paraphrase: "remember new words longer by reviewing flashcards at growing intervals",
      },
      {
        title: "Speaking practice",
        terms: ["speaking", "conversation", "pronunciation", "accent", "tutor", "shadowing", "fluency", "partner"],
        paraphrase: "improve my accent and fluency by shadowing and talking with a tutor",
      },
    ],
  },
];
