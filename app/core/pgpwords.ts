// PGP word list: encodes bytes as words (e.g. for reading key fingerprints aloud) and parses them back.

/** Two-syllable words, used for bytes at even positions (index 0, 2, 4, ...). Kept in columns. */
// prettier-ignore
export const EVEN_WORDS: readonly string[] = Object.freeze([
  'aardvark', 'absurd', 'accrue', 'acme', 'adrift', 'adult', 'afflict',
  'ahead', 'aimless', 'algol', 'allow', 'alone', 'ammo', 'ancient', 'apple',
  'artist', 'assume', 'athens', 'atlas', 'aztec', 'baboon', 'backfield',
  'backward', 'banjo', 'beaming', 'bedlamp', 'beehive', 'beeswax', 'befriend',
  'belfast', 'berserk', 'billiard', 'bison', 'blackjack', 'blockade',
  'blowtorch', 'bluebird', 'bombast', 'bookshelf', 'brackish', 'breadline',
  'breakup', 'brickyard', 'briefcase', 'burbank', 'button', 'buzzard',
  'cement', 'chairlift', 'chatter', 'checkup', 'chisel', 'choking', 'chopper',
  'christmas', 'clamshell', 'classic', 'classroom', 'cleanup', 'clockwork',
  'cobra', 'commence', 'concert', 'cowbell', 'crackdown', 'cranky', 'crowfoot',
  'crucial', 'crumpled', 'crusade', 'cubic', 'dashboard', 'deadbolt',
  'deckhand', 'dogsled', 'dragnet', 'drainage', 'dreadful', 'drifter',
  'dropper', 'drumbeat', 'drunken', 'dupont', 'dwelling', 'eating', 'edict',
  'egghead', 'eightball', 'endorse', 'endow', 'enlist', 'erase', 'escape',
  'exceed', 'eyeglass', 'eyetooth', 'facial', 'fallout', 'flagpole',
  'flatfoot', 'flytrap', 'fracture', 'framework', 'freedom', 'frighten',
  'gazelle', 'geiger', 'glitter', 'glucose', 'goggles', 'goldfish', 'gremlin',
  'guidance', 'hamlet', 'highchair', 'hockey', 'indoors', 'indulge', 'inverse',
  'involve', 'island', 'jawbone', 'keyboard', 'kickoff', 'kiwi', 'klaxon',
  'locale', 'lockup', 'merit', 'minnow', 'miser', 'mohawk', 'mural', 'music',
  'necklace', 'neptune', 'newborn', 'nightbird', 'oakland', 'obtuse',
  'offload', 'optic', 'orca', 'payday', 'peachy', 'pheasant', 'physique',
  'playhouse', 'pluto', 'preclude', 'prefer', 'preshrunk', 'printer',
  'prowler', 'pupil', 'puppy', 'python', 'quadrant', 'quiver', 'quota',
  'ragtime', 'ratchet', 'rebirth', 'reform', 'regain', 'reindeer', 'rematch',
  'repay', 'retouch', 'revenge', 'reward', 'rhythm', 'ribcage', 'ringbolt',
  'robust', 'rocker', 'ruffled', 'sailboat', 'sawdust', 'scallion', 'scenic',
  'scorecard', 'scotland', 'seabird', 'select', 'sentence', 'shadow',
  'shamrock', 'showgirl', 'skullcap', 'skydive', 'slingshot', 'slowdown',
  'snapline', 'snapshot', 'snowcap', 'snowslide', 'solo', 'southward',
  'soybean', 'spaniel', 'spearhead', 'spellbind', 'spheroid', 'spigot',
  'spindle', 'spyglass', 'stagehand', 'stagnate', 'stairway', 'standard',
  'stapler', 'steamship', 'sterling', 'stockman', 'stopwatch', 'stormy',
  'sugar', 'surmount', 'suspense', 'sweatband', 'swelter', 'tactics', 'talon',
  'tapeworm', 'tempest', 'tiger', 'tissue', 'tonic', 'topmost', 'tracker',
  'transit', 'trauma', 'treadmill', 'trojan', 'trouble', 'tumor', 'tunnel',
  'tycoon', 'uncut', 'unearth', 'unwind', 'uproot', 'upset', 'upshot', 'vapor',
  'village', 'virus', 'vulcan', 'waffle', 'wallet', 'watchword', 'wayside',
  'willow', 'woodlark', 'zulu',
]);

/** Three-syllable words, used for bytes at odd positions (index 1, 3, 5, ...). */
// prettier-ignore
export const ODD_WORDS: readonly string[] = Object.freeze([
  'adroitness', 'adviser', 'aftermath', 'aggregate', 'alkali', 'almighty',
  'amulet', 'amusement', 'antenna', 'applicant', 'apollo', 'armistice',
  'article', 'asteroid', 'atlantic', 'atmosphere', 'autopsy', 'babylon',
  'backwater', 'barbecue', 'belowground', 'bifocals', 'bodyguard',
  'bookseller', 'borderline', 'bottomless', 'bradbury', 'bravado', 'brazilian',
  'breakaway', 'burlington', 'businessman', 'butterfat', 'camelot',
  'candidate', 'cannonball', 'capricorn', 'caravan', 'caretaker', 'celebrate',
  'cellulose', 'certify', 'chambermaid', 'cherokee', 'chicago', 'clergyman',
  'coherence', 'combustion', 'commando', 'company', 'component', 'concurrent',
  'confidence', 'conformist', 'congregate', 'consensus', 'consulting',
  'corporate', 'corrosion', 'councilman', 'crossover', 'crucifix',
  'cumbersome', 'customer', 'dakota', 'decadence', 'december', 'decimal',
  'designing', 'detector', 'detergent', 'determine', 'dictator', 'dinosaur',
  'direction', 'disable', 'disbelief', 'disruptive', 'distortion', 'document',
  'embezzle', 'enchanting', 'enrollment', 'enterprise', 'equation',
  'equipment', 'escapade', 'eskimo', 'everyday', 'examine', 'existence',
  'exodus', 'fascinate', 'filament', 'finicky', 'forever', 'fortitude',
  'frequency', 'gadgetry', 'galveston', 'getaway', 'glossary', 'gossamer',
  'graduate', 'gravity', 'guitarist', 'hamburger', 'hamilton', 'handiwork',
  'hazardous', 'headwaters', 'hemisphere', 'hesitate', 'hideaway', 'holiness',
  'hurricane', 'hydraulic', 'impartial', 'impetus', 'inception', 'indigo',
  'inertia', 'infancy', 'inferno', 'informant', 'insincere', 'insurgent',
  'integrate', 'intention', 'inventive', 'istanbul', 'jamaica', 'jupiter',
  'leprosy', 'letterhead', 'liberty', 'maritime', 'matchmaker', 'maverick',
  'medusa', 'megaton', 'microscope', 'microwave', 'midsummer', 'millionaire',
  'miracle', 'misnomer', 'molasses', 'molecule', 'montana', 'monument',
  'mosquito', 'narrative', 'nebula', 'newsletter', 'norwegian', 'october',
  'ohio', 'onlooker', 'opulent', 'orlando', 'outfielder', 'pacific',
  'pandemic', 'pandora', 'paperweight', 'paragon', 'paragraph', 'paramount',
  'passenger', 'pedigree', 'pegasus', 'penetrate', 'perceptive', 'performance',
  'pharmacy', 'phonetic', 'photograph', 'pioneer', 'pocketful', 'politeness',
  'positive', 'potato', 'processor', 'provincial', 'proximate', 'puberty',
  'publisher', 'pyramid', 'quantity', 'racketeer', 'rebellion', 'recipe',
  'recover', 'repellent', 'replica', 'reproduce', 'resistor', 'responsive',
  'retraction', 'retrieval', 'retrospect', 'revenue', 'revival', 'revolver',
  'sandalwood', 'sardonic', 'saturday', 'savagery', 'scavenger', 'sensation',
  'sociable', 'souvenir', 'specialist', 'speculate', 'stethoscope',
  'stupendous', 'supportive', 'surrender', 'suspicious', 'sympathy',
  'tambourine', 'telephone', 'therapist', 'tobacco', 'tolerance', 'tomorrow',
  'torpedo', 'tradition', 'travesty', 'trombonist', 'truncated', 'typewriter',
  'ultimate', 'undaunted', 'underfoot', 'unicorn', 'unify', 'universe',
  'unravel', 'upcoming', 'vacancy', 'vagabond', 'vertigo', 'virginia',
  'visitor', 'vocalist', 'voyager', 'warranty', 'waterloo', 'whimsical',
  'wichita', 'wilmington', 'wyoming', 'yesteryear', 'yucatan',
]);

function indexMap(words: readonly string[]): ReadonlyMap<string, number> {
  const map = new Map<string, number>();
  words.forEach((word, i) => map.set(word, i));
  return map;
}

const EVEN_INDEX = indexMap(EVEN_WORDS);
const ODD_INDEX = indexMap(ODD_WORDS);

/**
 * Standard PGP word encoding: the byte at index i uses EVEN_WORDS when i is
 * even and ODD_WORDS when i is odd. Words are lowercase, joined by single spaces.
 */
export function toPgpWords(bytes: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const list = i % 2 === 0 ? EVEN_WORDS : ODD_WORDS;
    words.push(list[bytes[i]!]!);
  }
  return words.join(' ');
}

/**
 * What may separate words: whitespace and the punctuation people put between words they paste
 * or type (commas, semicolons, full stops, hyphens, plus signs from a URL query, slashes, bars,
 * underscores, quotes and brackets of a pasted list). Never a letter or a digit.
 */
export const WORD_SEPARATORS = /[\s,;.:!?|/\\_+\-"'`()[\]{}<>]+/;

/** The words of `text`, split at WORD_SEPARATORS (empty ones dropped). */
export function splitWords(text: string): string[] {
  return text.split(WORD_SEPARATORS).filter((w) => w.length > 0);
}

/**
 * Parses PGP words separated by whitespace and/or punctuation (WORD_SEPARATORS), case-insensitively.
 *
 * Accepts the standard alternating encoding and also the encoding produced by
 * the original Drayer implementation, which used the even list for every
 * position: each word is looked up in the list expected for its position first,
 * then in the even list. Throws an Error naming the word and its position
 * (1-based) if neither list contains it.
 */
export function fromPgpWords(text: string): Uint8Array {
  const words = splitWords(text);
  const out = new Uint8Array(words.length);
  for (let i = 0; i < words.length; i++) {
    const raw = words[i]!;
    const word = raw.toLowerCase();
    const expected = i % 2 === 0 ? EVEN_INDEX : ODD_INDEX;
    const value = expected.get(word) ?? EVEN_INDEX.get(word);
    if (value === undefined) {
      throw new Error(`Unknown PGP word "${raw}" at position ${i + 1} of ${words.length}`);
    }
    out[i] = value;
  }
  return out;
}
