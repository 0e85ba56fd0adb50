/**
 * Template families of the LLM-style prompt pairs (see llm-pairs.ts). A slot with a `kind` may be changed to
 * make a near miss of that kind; its values must all mean different things. `negated` phrasings say the
 * opposite of `phrasings` with the same slots; `swap` names two slots whose exchange changes the request
 * (a role swap) or, when `symmetric`, does not.
 */
export type SlotKind = 'entity' | 'number' | 'unit' | 'date' | 'opposite';

export interface Family {
  name: string;
  phrasings: readonly string[];
  negated?: readonly string[];
  slots: Record<string, { kind?: SlotKind; values: readonly string[] }>;
  swap?: { slots: [string, string]; symmetric?: boolean };
}

const CITIES = [
  'Paris',
  'Rome',
  'Berlin',
  'Madrid',
  'Lisbon',
  'Vienna',
  'Prague',
  'Dublin',
  'Oslo',
  'Athens',
];
const LANGS = ['Python', 'JavaScript', 'Go', 'Rust', 'Java', 'C#', 'Ruby', 'Kotlin'];
const HUMAN_LANGS = ['Spanish', 'French', 'German', 'Italian', 'Japanese', 'Portuguese', 'Dutch'];

export const FAMILIES: readonly Family[] = [
  {
    name: 'subscription',
    phrasings: [
      'how do I {action} my {plan} subscription?',
      'what are the steps to {action} my {plan} subscription',
      'I want to {action} my {plan} subscription, how can I do that?',
      'can you tell me how to {action} my {plan} subscription?',
      'help me {action} my {plan} subscription',
    ],
    slots: {
      action: { kind: 'opposite', values: ['cancel', 'upgrade', 'pause', 'renew', 'downgrade'] },
      plan: { kind: 'entity', values: ['Netflix', 'Spotify', 'Premium', 'annual', 'monthly', 'family'] },
    },
  },
  {
    name: 'account-settings',
    phrasings: [
      'how do I {toggle} two-factor authentication on my {service} account?',
      'steps to {toggle} 2FA for {service}',
      'where can I {toggle} two-factor auth in {service}?',
      'walk me through how to {toggle} two factor authentication on {service}',
    ],
    slots: {
      toggle: { kind: 'opposite', values: ['enable', 'disable'] },
      service: { kind: 'entity', values: ['Google', 'GitHub', 'Instagram', 'Dropbox', 'Slack', 'PayPal'] },
    },
  },
  {
    name: 'flights',
    phrasings: [
      'find me the cheapest flight from {from} to {to} on {day}',
      'what is the cheapest flight from {from} to {to} on {day}?',
      'cheapest way to fly from {from} to {to} on {day}',
      'I need a cheap flight on {day} from {from} to {to}',
      'look up low-cost flights leaving {from} for {to} on {day}',
    ],
    slots: {
      from: { kind: 'entity', values: CITIES },
      to: { kind: 'entity', values: CITIES },
      day: { kind: 'date', values: ['Monday', 'Friday', 'Sunday', 'March 3', 'June 14', 'New Year’s Eve'] },
    },
    swap: { slots: ['from', 'to'] },
  },
  {
    name: 'currency',
    phrasings: [
      'convert {n} {x} to {y}',
      'how much is {n} {x} in {y}?',
      'what is {n} {x} worth in {y} today',
      '{n} {x} to {y} conversion please',
    ],
    slots: {
      n: { kind: 'number', values: ['50', '100', '250', '1,000', '20', '75'] },
      x: { kind: 'unit', values: ['US dollars', 'euros', 'British pounds', 'Japanese yen', 'Swiss francs'] },
      y: { kind: 'unit', values: ['US dollars', 'euros', 'British pounds', 'Japanese yen', 'Swiss francs'] },
    },
    swap: { slots: ['x', 'y'] },
  },
  {
    name: 'unit-conversion',
    phrasings: [
      'how many {y} are in {n} {x}?',
      'convert {n} {x} into {y}',
      'what is {n} {x} in {y}',
      '{n} {x} equals how many {y}?',
    ],
    slots: {
      n: { kind: 'number', values: ['3', '5', '12', '42', '100', '1.5'] },
      x: { kind: 'unit', values: ['kilometers', 'miles', 'kilograms', 'pounds', 'liters', 'gallons'] },
      y: { kind: 'unit', values: ['kilometers', 'miles', 'kilograms', 'pounds', 'liters', 'gallons'] },
    },
    swap: { slots: ['x', 'y'] },
  },
  {
    name: 'translation',
    phrasings: [
      'translate "{phrase}" from {from} into {to}',
      'how do you say "{phrase}" in {to}? it is {from}',
      'give me the {to} translation of the {from} phrase "{phrase}"',
      'what is "{phrase}" ({from}) in {to}?',
    ],
    slots: {
      phrase: {
        kind: 'entity',
        values: [
          'good morning',
          'where is the station',
          'thank you very much',
          'I am lost',
          'see you tomorrow',
        ],
      },
      from: { kind: 'entity', values: ['English', ...HUMAN_LANGS.slice(0, 3)] },
      to: { kind: 'entity', values: HUMAN_LANGS },
    },
    swap: { slots: ['from', 'to'] },
  },
  {
    name: 'code-function',
    phrasings: [
      'write a {lang} function that {task}',
      'in {lang}, how do I write a function to {task2}?',
      'can you give me {lang} code that {task}',
      'show me a {lang} snippet which {task}',
      'implement a function in {lang} that {task}',
    ],
    slots: {
      lang: { kind: 'entity', values: LANGS },
      task: { values: ['reverses a string'] },
      task2: { values: ['reverse a string'] },
    },
  },
  {
    name: 'code-sort',
    phrasings: [
      'how do I sort a list of {things} in {order} order in {lang}?',
      'sort {things} {order} in {lang}',
      'what is the {lang} way to sort {things} in {order} order',
      'in {lang}, sort an array of {things} in {order} order',
    ],
    slots: {
      things: { kind: 'entity', values: ['numbers', 'strings', 'dates', 'objects by name'] },
      order: { kind: 'opposite', values: ['ascending', 'descending'] },
      lang: { kind: 'entity', values: LANGS },
    },
  },
  {
    name: 'code-compare-languages',
    phrasings: [
      'what is the difference between {a} and {b}?',
      'compare {a} and {b}',
      'how does {a} differ from {b}',
      '{a} vs {b}: what are the main differences?',
    ],
    slots: {
      a: { kind: 'entity', values: ['TCP', 'Python', 'SQL', 'REST', 'threads', 'Docker', 'React'] },
      b: { kind: 'entity', values: ['UDP', 'Java', 'NoSQL', 'GraphQL', 'processes', 'Kubernetes', 'Vue'] },
    },
    swap: { slots: ['a', 'b'], symmetric: true },
  },
  {
    name: 'better-than',
    phrasings: [
      'is {a} faster than {b} for {use}?',
      'for {use}, is {a} faster than {b}',
      'would {a} be faster than {b} when doing {use}?',
    ],
    slots: {
      a: { kind: 'entity', values: ['PostgreSQL', 'MySQL', 'Redis', 'MongoDB', 'SQLite'] },
      b: { kind: 'entity', values: ['PostgreSQL', 'MySQL', 'Redis', 'MongoDB', 'SQLite'] },
      use: { kind: 'entity', values: ['analytics', 'caching', 'bulk inserts', 'full-text search'] },
    },
    swap: { slots: ['a', 'b'] },
  },
  {
    name: 'summarise',
    phrasings: [
      'summarize this article in {n} bullet points',
      'give me a {n}-bullet summary of this article',
      'condense the article below into {n} bullet points',
      'can you sum up this article using {n} bullets?',
    ],
    slots: { n: { kind: 'number', values: ['3', '5', '7', '10', 'two', 'four'] } },
  },
  {
    name: 'poem',
    phrasings: [
      'write a {form} about {topic}',
      'compose a {form} on the subject of {topic}',
      'can you write me a {form} about {topic}?',
      'I would like a {form} about {topic}',
      'create a short {form} describing {topic}',
    ],
    slots: {
      form: { kind: 'entity', values: ['haiku', 'sonnet', 'limerick', 'free-verse poem'] },
      topic: {
        kind: 'entity',
        values: ['autumn', 'the ocean', 'winter', 'a lost cat', 'city lights', 'spring'],
      },
    },
  },
  {
    name: 'explain-audience',
    phrasings: [
      'explain {concept} to {audience}',
      'how would you explain {concept} to {audience}?',
      'describe {concept} in a way {audience} would understand',
      'can you break down {concept} for {audience}',
    ],
    slots: {
      concept: {
        kind: 'entity',
        values: [
          'recursion',
          'inflation',
          'photosynthesis',
          'blockchain',
          'quantum entanglement',
          'compound interest',
        ],
      },
      audience: {
        kind: 'entity',
        values: ['a five-year-old', 'a senior engineer', 'a high school student', 'my grandmother'],
      },
    },
  },
  {
    name: 'recipe',
    phrasings: [
      'give me a {diet} recipe for {dish} that serves {n}',
      'I need a recipe for {diet} {dish} for {n} people',
      'how do I make {diet} {dish} for {n}?',
      'recipe: {diet} {dish}, {n} servings',
    ],
    slots: {
      diet: { kind: 'opposite', values: ['vegan', 'gluten-free', 'keto', 'low-sodium'] },
      dish: { kind: 'entity', values: ['lasagna', 'pancakes', 'chili', 'banana bread', 'curry'] },
      n: { kind: 'number', values: ['2', '4', '6', '8', '12'] },
    },
  },
  {
    name: 'recipe-without',
    phrasings: [
      'can I bake {dish} with {ing}?',
      'is it possible to make {dish} using {ing}',
      'is {ing} okay to use when baking {dish}?',
    ],
    negated: [
      'can I bake {dish} without {ing}?',
      'is it possible to make {dish} without using {ing}',
      'is {ing} a bad idea when baking {dish}?',
    ],
    slots: {
      dish: { kind: 'entity', values: ['bread', 'a cake', 'cookies', 'brownies', 'muffins'] },
      ing: { kind: 'entity', values: ['eggs', 'butter', 'yeast', 'baking soda', 'sugar'] },
    },
  },
  {
    name: 'health-safety',
    phrasings: [
      'is it safe to take {drug} with {other}?',
      'can I take {drug} together with {other} safely',
      'is combining {drug} and {other} safe?',
      'are {drug} and {other} safe to take at the same time?',
    ],
    negated: [
      'why is it not safe to take {drug} with {other}?',
      'is it unsafe to take {drug} with {other}?',
      'list the reasons you should never take {drug} with {other}',
    ],
    slots: {
      drug: {
        kind: 'entity',
        values: ['ibuprofen', 'paracetamol', 'aspirin', 'melatonin', 'antihistamines'],
      },
      other: { kind: 'entity', values: ['alcohol', 'coffee', 'blood thinners', 'antibiotics', 'vitamin C'] },
    },
  },
  {
    name: 'dosage',
    phrasings: [
      'how much {drug} can a {age}-year-old take per day?',
      'what is the maximum daily dose of {drug} for a {age} year old',
      'daily {drug} limit for someone aged {age}?',
    ],
    slots: {
      drug: { kind: 'entity', values: ['ibuprofen', 'paracetamol', 'vitamin D', 'caffeine'] },
      age: { kind: 'number', values: ['6', '10', '14', '30', '70'] },
    },
  },
  {
    name: 'weather',
    phrasings: [
      'what will the weather be in {city} on {day}?',
      'weather forecast for {city} on {day}',
      'will it rain in {city} on {day}?',
      "what's the forecast for {city} this {day}",
    ],
    slots: {
      city: { kind: 'entity', values: CITIES },
      day: { kind: 'date', values: ['Monday', 'Tuesday', 'Saturday', 'Sunday', 'Thursday'] },
    },
  },
  {
    name: 'history-date',
    phrasings: [
      'what happened in {place} in {year}?',
      'tell me about the events in {place} during {year}',
      'what were the major events in {place} in {year}',
      'give me a summary of {year} in {place}',
    ],
    slots: {
      place: { kind: 'entity', values: ['France', 'Japan', 'Brazil', 'Egypt', 'India', 'Canada'] },
      year: { kind: 'date', values: ['1848', '1914', '1945', '1968', '1989', '2001'] },
    },
  },
  {
    name: 'math-percent',
    phrasings: [
      'what is {p}% of {n}?',
      'calculate {p} percent of {n}',
      'how much is {p} percent of {n}',
      'find {p}% of {n}',
    ],
    slots: {
      p: { kind: 'number', values: ['5', '12', '15', '20', '25', '30'] },
      n: { kind: 'number', values: ['80', '150', '240', '1,200', '360'] },
    },
    swap: { slots: ['p', 'n'] },
  },
  {
    name: 'math-divide',
    phrasings: [
      'what is {x} divided by {y}?',
      'divide {x} by {y}',
      'how much is {x} / {y}',
      'compute {x} over {y}',
    ],
    slots: {
      x: { kind: 'number', values: ['144', '96', '250', '81', '1,024'] },
      y: { kind: 'number', values: ['3', '4', '8', '9', '16'] },
    },
    swap: { slots: ['x', 'y'] },
  },
  {
    name: 'email',
    phrasings: [
      'write an email to my {who} {purpose}',
      'draft a message to my {who} {purpose}',
      'help me write an email to my {who} {purpose}',
      'compose an email for my {who} {purpose}',
    ],
    slots: {
      who: { kind: 'entity', values: ['landlord', 'manager', 'professor', 'client', 'team'] },
      purpose: {
        kind: 'opposite',
        values: [
          'asking for a deadline extension',
          'declining the meeting',
          'accepting the offer',
          'rejecting the offer',
          'requesting a refund',
        ],
      },
    },
  },
  {
    name: 'travel-visa',
    phrasings: [
      'do {nationality} citizens need a visa to visit {country}?',
      'is a visa required for {nationality} travellers going to {country}',
      'visa requirements for {nationality} passport holders visiting {country}',
      'can a {nationality} citizen enter {country} without applying for a visa in advance?',
    ],
    slots: {
      nationality: {
        kind: 'entity',
        values: ['US', 'Indian', 'German', 'Brazilian', 'Nigerian', 'Australian'],
      },
      country: { kind: 'entity', values: ['Japan', 'Canada', 'the UK', 'Thailand', 'Turkey', 'Mexico'] },
    },
  },
  {
    name: 'shipping',
    phrasings: [
      'how long does shipping from {from} to {to} take?',
      'what is the delivery time for a parcel from {from} to {to}',
      'shipping time {from} to {to}?',
      'how many days does it take to ship a package from {from} to {to}',
    ],
    slots: {
      from: { kind: 'entity', values: ['China', 'Germany', 'the US', 'the UK', 'Japan', 'Australia'] },
      to: { kind: 'entity', values: ['China', 'Germany', 'the US', 'the UK', 'Japan', 'Australia'] },
    },
    swap: { slots: ['from', 'to'] },
  },
  {
    name: 'refund-policy',
    phrasings: [
      'can I get a refund after {n} days?',
      'is a refund possible {n} days after purchase',
      'what is your refund policy after {n} days',
      'am I still eligible for a refund {n} days later?',
    ],
    negated: [
      'why can I not get a refund after {n} days?',
      'is a refund impossible {n} days after purchase',
      'am I no longer eligible for a refund {n} days later?',
    ],
    slots: { n: { kind: 'number', values: ['7', '14', '30', '45', '90'] } },
  },
  {
    name: 'sql',
    phrasings: [
      'write a SQL query to find the {k} {dir} paid employees',
      'SQL to get the {k} {dir}-paid employees',
      'how do I select the {k} {dir} paid employees in SQL',
      'give me a query returning the {dir} paid {k} employees',
    ],
    slots: {
      k: { kind: 'number', values: ['3', '5', '10', '20', '15'] },
      dir: { kind: 'opposite', values: ['highest', 'lowest'] },
    },
  },
  {
    name: 'git',
    phrasings: [
      'how do I {op} a git {obj}?',
      'git: {op} a {obj}',
      'what is the command to {op} a {obj} in git',
      'in git, how can I {op} a {obj}',
    ],
    slots: {
      op: { kind: 'opposite', values: ['delete', 'create', 'rename', 'undo'] },
      obj: { kind: 'entity', values: ['branch', 'tag', 'commit', 'remote', 'stash'] },
    },
  },
  {
    name: 'fitness',
    phrasings: [
      'make me a {n}-week training plan to run a {dist}',
      'I want a {n} week plan to prepare for a {dist}',
      'create a {dist} training schedule lasting {n} weeks',
      'plan my {n} weeks of training for a {dist}',
    ],
    slots: {
      n: { kind: 'number', values: ['4', '8', '12', '16'] },
      dist: { kind: 'entity', values: ['5k', '10k', 'half marathon', 'marathon'] },
    },
  },
  {
    name: 'finance-compare',
    phrasings: [
      'should I {a} or {b} with my savings?',
      'is it better to {a} or {b} with extra savings',
      'with my savings, {a} or {b}: which makes more sense?',
    ],
    slots: {
      a: { kind: 'entity', values: ['pay off my mortgage', 'invest in index funds', 'buy a house'] },
      b: { kind: 'entity', values: ['keep renting', 'pay off student loans', 'open a savings account'] },
    },
    swap: { slots: ['a', 'b'], symmetric: true },
  },
  {
    name: 'tax-deadline',
    phrasings: [
      'when is the deadline to file {form} taxes in {country} for {year}?',
      '{year} {form} tax filing deadline in {country}',
      'by what date must I file my {year} {form} tax return in {country}',
    ],
    slots: {
      form: { kind: 'entity', values: ['income', 'corporate', 'sales'] },
      country: { kind: 'entity', values: ['the US', 'Canada', 'the UK', 'Australia'] },
      year: { kind: 'date', values: ['2022', '2023', '2024', '2025'] },
    },
  },
  {
    name: 'device-troubleshoot',
    phrasings: [
      'my {device} will not {problem}, what should I do?',
      'how do I fix a {device} that does not {problem}',
      'troubleshooting: {device} won’t {problem}',
      '{device} fails to {problem}, any fixes?',
    ],
    negated: [
      'my {device} keeps trying to {problem}, how do I stop it?',
      'how do I stop my {device} from trying to {problem}',
    ],
    slots: {
      device: { kind: 'entity', values: ['iPhone', 'Android phone', 'laptop', 'printer', 'smart TV'] },
      problem: { kind: 'opposite', values: ['turn on', 'charge', 'connect to Wi-Fi', 'update'] },
    },
  },
  {
    name: 'age-compare',
    phrasings: ['was {a} born before {b}?', 'is {a} older than {b}'],
    slots: {
      a: { kind: 'entity', values: ['Einstein', 'Newton', 'Darwin', 'Curie', 'Tesla', 'Edison'] },
      b: { kind: 'entity', values: ['Einstein', 'Newton', 'Darwin', 'Curie', 'Tesla', 'Edison'] },
    },
    swap: { slots: ['a', 'b'] },
  },
  {
    name: 'regex',
    phrasings: [
      'write a regex that matches {what}',
      'regular expression for {what}',
      'give me a regex pattern to match {what}',
      'how do I match {what} with a regular expression?',
    ],
    negated: ['write a regex that matches anything except {what}', 'regex that does not match {what}'],
    slots: {
      what: {
        kind: 'entity',
        values: [
          'email addresses',
          'US phone numbers',
          'IPv4 addresses',
          'dates like 2024-01-31',
          'hex colours',
        ],
      },
    },
  },
  {
    name: 'time-zone',
    phrasings: [
      'if it is {time} in {a}, what time is it in {b}?',
      'convert {time} {a} time to {b} time',
      'what time is it in {b} when it is {time} in {a}',
    ],
    slots: {
      time: { kind: 'number', values: ['9 am', '3 pm', 'noon', '11 pm', '6:30 am'] },
      a: { kind: 'entity', values: ['London', 'New York', 'Tokyo', 'Sydney', 'Berlin'] },
      b: { kind: 'entity', values: ['London', 'New York', 'Tokyo', 'Sydney', 'Berlin'] },
    },
    swap: { slots: ['a', 'b'] },
  },
  {
    name: 'pet-food',
    phrasings: [
      'can {pet} eat {food}?',
      'is it safe for {pet} to eat {food}',
      'is {food} okay to feed {pet}?',
      'are {pet} allowed to have {food}',
    ],
    slots: {
      pet: { kind: 'entity', values: ['dogs', 'cats', 'rabbits', 'parrots', 'hamsters'] },
      food: { kind: 'entity', values: ['grapes', 'chocolate', 'cheese', 'carrots', 'bananas', 'onions'] },
    },
  },
];
