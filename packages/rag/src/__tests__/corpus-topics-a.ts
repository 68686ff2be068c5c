import type { TopicSpec } from "./corpus-topics";

/** Topics 1–15 of the labelled retrieval corpus (corpus-topics.ts joins the two halves). */
export const TOPICS_A: TopicSpec[] = [
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
];
