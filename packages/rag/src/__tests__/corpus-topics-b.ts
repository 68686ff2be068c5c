import type { TopicSpec } from "./corpus-topics";

/** Topics 16–30 of the labelled retrieval corpus (corpus-topics.ts joins the two halves). */
export const TOPICS_B: TopicSpec[] = [
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
