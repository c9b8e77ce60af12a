// Names, places, race/ethnicity and language tables, and the pickers bulk patients use.
// Names are common ones chosen so no combination names a well-known person on purpose; phone
// numbers stay inside the 555-0100…0199 block reserved for fiction.
import type { Random } from './random.js';
import type { TimeZoneKey } from './time.js';

export type Sex = 'female' | 'male';

export type RaceKey = 'white' | 'black' | 'asian' | 'american-indian' | 'pacific-islander';

export const RACE: Record<RaceKey, { code: string; display: string }> = {
  'american-indian': { code: '1002-5', display: 'American Indian or Alaska Native' },
  asian: { code: '2028-9', display: 'Asian' },
  black: { code: '2054-5', display: 'Black or African American' },
  'pacific-islander': { code: '2076-8', display: 'Native Hawaiian or Other Pacific Islander' },
  white: { code: '2106-3', display: 'White' },
};

export type EthnicityKey = 'hispanic' | 'not-hispanic';

export const ETHNICITY: Record<EthnicityKey, { code: string; display: string }> = {
  hispanic: { code: '2135-2', display: 'Hispanic or Latino' },
  'not-hispanic': { code: '2186-5', display: 'Not Hispanic or Latino' },
};

export type LanguageKey = 'en' | 'es' | 'zh' | 'vi' | 'ko' | 'hi';

export const LANGUAGE: Record<LanguageKey, { display: string }> = {
  en: { display: 'English' },
  es: { display: 'Spanish' },
  zh: { display: 'Chinese' },
  vi: { display: 'Vietnamese' },
  ko: { display: 'Korean' },
  hi: { display: 'Hindi' },
};

export interface City {
  readonly city: string;
  readonly state: string;
  readonly postalCode: string;
  readonly areaCode: string;
  readonly zone: TimeZoneKey;
}

export const CITIES: readonly City[] = [
  { city: 'Boston', state: 'MA', postalCode: '02118', areaCode: '617', zone: 'eastern' },
  { city: 'Worcester', state: 'MA', postalCode: '01604', areaCode: '508', zone: 'eastern' },
  { city: 'Providence', state: 'RI', postalCode: '02906', areaCode: '401', zone: 'eastern' },
  { city: 'Hartford', state: 'CT', postalCode: '06106', areaCode: '860', zone: 'eastern' },
  { city: 'Brooklyn', state: 'NY', postalCode: '11215', areaCode: '718', zone: 'eastern' },
  { city: 'Buffalo', state: 'NY', postalCode: '14216', areaCode: '716', zone: 'eastern' },
  { city: 'Philadelphia', state: 'PA', postalCode: '19146', areaCode: '215', zone: 'eastern' },
  { city: 'Pittsburgh', state: 'PA', postalCode: '15213', areaCode: '412', zone: 'eastern' },
  { city: 'Baltimore', state: 'MD', postalCode: '21218', areaCode: '410', zone: 'eastern' },
  { city: 'Richmond', state: 'VA', postalCode: '23220', areaCode: '804', zone: 'eastern' },
  { city: 'Raleigh', state: 'NC', postalCode: '27603', areaCode: '919', zone: 'eastern' },
  { city: 'Charlotte', state: 'NC', postalCode: '28205', areaCode: '704', zone: 'eastern' },
  { city: 'Atlanta', state: 'GA', postalCode: '30312', areaCode: '404', zone: 'eastern' },
  { city: 'Jacksonville', state: 'FL', postalCode: '32207', areaCode: '904', zone: 'eastern' },
  { city: 'Miami', state: 'FL', postalCode: '33135', areaCode: '305', zone: 'eastern' },
  { city: 'Tampa', state: 'FL', postalCode: '33609', areaCode: '813', zone: 'eastern' },
  { city: 'Columbus', state: 'OH', postalCode: '43215', areaCode: '614', zone: 'eastern' },
  { city: 'Cleveland', state: 'OH', postalCode: '44113', areaCode: '216', zone: 'eastern' },
  { city: 'Detroit', state: 'MI', postalCode: '48207', areaCode: '313', zone: 'eastern' },
  { city: 'Indianapolis', state: 'IN', postalCode: '46220', areaCode: '317', zone: 'eastern' },
  { city: 'Louisville', state: 'KY', postalCode: '40204', areaCode: '502', zone: 'eastern' },
  { city: 'Nashville', state: 'TN', postalCode: '37206', areaCode: '615', zone: 'central' },
  { city: 'Memphis', state: 'TN', postalCode: '38104', areaCode: '901', zone: 'central' },
  { city: 'Chicago', state: 'IL', postalCode: '60614', areaCode: '773', zone: 'central' },
  { city: 'Milwaukee', state: 'WI', postalCode: '53202', areaCode: '414', zone: 'central' },
  { city: 'Minneapolis', state: 'MN', postalCode: '55408', areaCode: '612', zone: 'central' },
  { city: 'St. Louis', state: 'MO', postalCode: '63110', areaCode: '314', zone: 'central' },
  { city: 'Kansas City', state: 'MO', postalCode: '64111', areaCode: '816', zone: 'central' },
  { city: 'New Orleans', state: 'LA', postalCode: '70115', areaCode: '504', zone: 'central' },
  { city: 'Houston', state: 'TX', postalCode: '77006', areaCode: '713', zone: 'central' },
  { city: 'San Antonio', state: 'TX', postalCode: '78210', areaCode: '210', zone: 'central' },
  { city: 'Dallas', state: 'TX', postalCode: '75206', areaCode: '214', zone: 'central' },
  { city: 'Austin', state: 'TX', postalCode: '78704', areaCode: '512', zone: 'central' },
  { city: 'Oklahoma City', state: 'OK', postalCode: '73106', areaCode: '405', zone: 'central' },
  { city: 'Omaha', state: 'NE', postalCode: '68105', areaCode: '402', zone: 'central' },
  { city: 'Denver', state: 'CO', postalCode: '80205', areaCode: '303', zone: 'mountain' },
  { city: 'Albuquerque', state: 'NM', postalCode: '87106', areaCode: '505', zone: 'mountain' },
  { city: 'Gallup', state: 'NM', postalCode: '87301', areaCode: '505', zone: 'mountain' },
  { city: 'Salt Lake City', state: 'UT', postalCode: '84102', areaCode: '801', zone: 'mountain' },
  { city: 'Phoenix', state: 'AZ', postalCode: '85006', areaCode: '602', zone: 'arizona' },
  { city: 'Tucson', state: 'AZ', postalCode: '85719', areaCode: '520', zone: 'arizona' },
  { city: 'Las Vegas', state: 'NV', postalCode: '89104', areaCode: '702', zone: 'pacific' },
  { city: 'Los Angeles', state: 'CA', postalCode: '90026', areaCode: '213', zone: 'pacific' },
  { city: 'San Diego', state: 'CA', postalCode: '92104', areaCode: '619', zone: 'pacific' },
  { city: 'San Jose', state: 'CA', postalCode: '95112', areaCode: '408', zone: 'pacific' },
  { city: 'Oakland', state: 'CA', postalCode: '94610', areaCode: '510', zone: 'pacific' },
  { city: 'Sacramento', state: 'CA', postalCode: '95818', areaCode: '916', zone: 'pacific' },
  { city: 'Portland', state: 'OR', postalCode: '97214', areaCode: '503', zone: 'pacific' },
  { city: 'Seattle', state: 'WA', postalCode: '98122', areaCode: '206', zone: 'pacific' },
  { city: 'Spokane', state: 'WA', postalCode: '99203', areaCode: '509', zone: 'pacific' },
  { city: 'Anchorage', state: 'AK', postalCode: '99503', areaCode: '907', zone: 'alaska' },
  { city: 'Honolulu', state: 'HI', postalCode: '96816', areaCode: '808', zone: 'hawaii' },
  { city: 'Hilo', state: 'HI', postalCode: '96720', areaCode: '808', zone: 'hawaii' },
];

export function findCity(name: string): City {
  const city = CITIES.find((c) => c.city === name);
  if (!city) throw new Error(`Unknown city ${name}`);
  return city;
}

const STREETS = [
  'Maple Avenue', 'Oak Street', 'Cedar Lane', 'Elm Street', 'Washington Avenue', 'Lincoln Road',
  'Park Place', 'Lakeview Drive', 'Hillside Avenue', 'Sunset Boulevard', 'River Road', 'Church Street',
  'Highland Avenue', 'Walnut Street', 'Chestnut Street', 'Spring Street', 'Pine Ridge Road',
  'Franklin Street', 'Jefferson Avenue', 'Madison Street', 'Willow Way', 'Meadow Lane', 'Forest Avenue',
  'Prospect Street', 'Mill Road', 'Summit Avenue', 'Grove Street', 'Cherry Lane', 'Orchard Drive',
  'Bayview Terrace', 'Mesa Verde Drive', 'Canyon Road', 'Magnolia Street', 'Sycamore Court',
];

export function pickStreetLine(rng: Random): string[] {
  const first = `${rng.int(12, 9870)} ${rng.pick(STREETS)}`;
  return rng.chance(0.25) ? [first, `Apt ${rng.int(1, 12)}${rng.pick(['A', 'B', 'C', 'D'])}`] : [first];
}

/** A number in the 555-01xx range reserved for fictional use. */
export function fictionalPhone(rng: Random, areaCode: string): string {
  return `${areaCode}-555-01${String(rng.int(0, 99)).padStart(2, '0')}`;
}

export type NameGroup = 'anglo' | 'black' | 'hispanic' | 'chinese' | 'korean' | 'vietnamese' | 'indian' | 'filipino' | 'navajo' | 'hawaiian';

interface NamePool {
  readonly female: readonly string[];
  readonly male: readonly string[];
  readonly family: readonly string[];
}

const ANGLO_FEMALE = [
  'Emily', 'Sarah', 'Jessica', 'Ashley', 'Megan', 'Lauren', 'Rachel', 'Hannah', 'Olivia', 'Emma', 'Abigail',
  'Madison', 'Chloe', 'Grace', 'Linda', 'Patricia', 'Barbara', 'Susan', 'Karen', 'Nancy', 'Deborah', 'Donna',
  'Sharon', 'Carol', 'Michelle', 'Amanda', 'Stephanie', 'Nicole', 'Jennifer', 'Elizabeth', 'Katherine',
  'Margaret', 'Dorothy', 'Ruth', 'Joyce', 'Evelyn', 'Claire', 'Natalie', 'Avery', 'Lily',
];
const ANGLO_MALE = [
  'James', 'John', 'Robert', 'Michael', 'William', 'David', 'Richard', 'Joseph', 'Thomas', 'Charles',
  'Christopher', 'Daniel', 'Matthew', 'Anthony', 'Mark', 'Steven', 'Paul', 'Andrew', 'Joshua', 'Kevin',
  'Brian', 'Ryan', 'Jacob', 'Ethan', 'Noah', 'Liam', 'Logan', 'Caleb', 'Tyler', 'Nathan', 'Harold',
  'Walter', 'Gerald', 'Eugene', 'Owen', 'Henry', 'Samuel', 'Gregory', 'Dennis', 'Scott',
];

const NAME_POOLS: Record<NameGroup, NamePool> = {
  anglo: {
    female: ANGLO_FEMALE,
    male: ANGLO_MALE,
    family: [
      'Smith', 'Johnson', 'Miller', 'Davis', 'Wilson', 'Anderson', 'Taylor', 'Thomas', 'Moore', 'Martin',
      'Thompson', 'White', 'Clark', 'Lewis', 'Walker', 'Hall', 'Allen', 'Young', 'King', 'Wright', 'Scott',
      'Green', 'Baker', 'Adams', 'Nelson', 'Hill', 'Campbell', 'Mitchell', 'Roberts', 'Carter', 'Phillips',
      'Evans', 'Turner', 'Parker', 'Collins', 'Edwards', 'Stewart', 'Morris', 'Murphy', 'Cook', 'Rogers',
      'Morgan', 'Peterson', 'Cooper', 'Reed', 'Bailey', 'Kelly', 'Howard', 'Ward', 'Richardson', 'Wood',
      'Watson', 'Brooks', 'Bennett', 'Gray', 'Hughes', 'Price', 'Sanders', 'Myers', 'Long', 'Foster',
      'Jensen', 'Kowalski', 'Novak', 'Schmidt', 'Olson', 'Larson', 'Sullivan', 'Lindqvist', 'Becker',
    ],
  },
  black: {
    female: [...ANGLO_FEMALE.slice(0, 20), 'Keisha', 'Aaliyah', 'Imani', 'Jasmine', 'Tiana', 'Ebony', 'Destiny', 'Kiara', 'Monique', 'Latoya', 'Naomi', 'Zoe'],
    male: [...ANGLO_MALE.slice(0, 20), 'Marcus', 'Andre', 'Darnell', 'Jamal', 'Malik', 'Terrence', 'Isaiah', 'Jalen', 'DeShawn', 'Xavier', 'Elijah', 'Cedric'],
    family: [
      'Washington', 'Jackson', 'Harris', 'Robinson', 'Brown', 'Williams', 'Coleman', 'Jenkins', 'Banks',
      'Freeman', 'Simmons', 'Mosley', 'Gaines', 'Bryant', 'Wallace', 'Dixon', 'Hayes', 'Greene', 'Perry',
      'Butler', 'Barnes', 'Henderson', 'Okafor', 'Mensah', 'Adeyemi',
    ],
  },
  hispanic: {
    female: ['Maria', 'Sofia', 'Camila', 'Valentina', 'Isabella', 'Lucia', 'Gabriela', 'Daniela', 'Ana', 'Rosa', 'Carmen', 'Elena', 'Adriana', 'Paola', 'Ximena', 'Alejandra', 'Veronica', 'Yesenia', 'Guadalupe', 'Marisol'],
    male: ['Mateo', 'Santiago', 'Diego', 'Carlos', 'Luis', 'Jose', 'Miguel', 'Javier', 'Alejandro', 'Juan', 'Rafael', 'Andres', 'Emilio', 'Julio', 'Ricardo', 'Eduardo', 'Fernando', 'Hector', 'Joaquin', 'Ramon'],
    family: [
      'Garcia', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez', 'Perez', 'Sanchez', 'Ramirez',
      'Torres', 'Flores', 'Rivera', 'Gomez', 'Diaz', 'Reyes', 'Morales', 'Cruz', 'Ortiz', 'Gutierrez',
      'Chavez', 'Ramos', 'Mendoza', 'Castillo', 'Vargas', 'Romero', 'Herrera', 'Medina', 'Aguilar',
    ],
  },
  chinese: {
    female: ['Mei', 'Lin', 'Xiu', 'Jing', 'Yan', 'Hui', 'Ling', 'Fang', 'Emily', 'Grace'],
    male: ['Wei', 'Jun', 'Hao', 'Ming', 'Jian', 'Tao', 'Lei', 'Kevin', 'David', 'Eric'],
    family: ['Chen', 'Wang', 'Li', 'Zhang', 'Liu', 'Huang', 'Lin', 'Wu', 'Zhou', 'Xu', 'Sun', 'Ma'],
  },
  korean: {
    female: ['Ji-woo', 'Min-ji', 'Seo-yeon', 'Soo-jin', 'Hye-jin', 'Eun-ji', 'Grace', 'Esther'],
    male: ['Min-jun', 'Ji-hoon', 'Hyun-woo', 'Jae-won', 'Sung-min', 'Daniel', 'Joseph'],
    family: ['Kim', 'Lee', 'Park', 'Choi', 'Jung', 'Kang', 'Cho', 'Yoon', 'Han'],
  },
  vietnamese: {
    female: ['Linh', 'Thao', 'Huong', 'Ngoc', 'Mai', 'Trang', 'Vy', 'Anh'],
    male: ['Minh', 'Tuan', 'Duc', 'Quang', 'Khoa', 'Long', 'Huy', 'Bao'],
    family: ['Nguyen', 'Tran', 'Le', 'Pham', 'Hoang', 'Vu', 'Dang', 'Bui', 'Do'],
  },
  indian: {
    female: ['Priya', 'Ananya', 'Kavya', 'Divya', 'Neha', 'Aditi', 'Sunita', 'Meera', 'Pooja', 'Shreya'],
    male: ['Arjun', 'Rohan', 'Vikram', 'Rahul', 'Sanjay', 'Aarav', 'Nikhil', 'Amit', 'Karthik', 'Ravi'],
    family: ['Patel', 'Shah', 'Singh', 'Kumar', 'Gupta', 'Reddy', 'Iyer', 'Desai', 'Mehta', 'Rao', 'Nair'],
  },
  filipino: {
    female: ['Maricel', 'Jocelyn', 'Rowena', 'Angelica', 'Kristine', 'Liza', 'Joy'],
    male: ['Jomar', 'Ramon', 'Paolo', 'Rodel', 'Mark', 'Jerome', 'Carlo'],
    family: ['Santos', 'Reyes', 'Bautista', 'Villanueva', 'Mendoza', 'Aquino', 'Castro', 'Garcia', 'Ocampo'],
  },
  navajo: {
    female: ['Shandiin', 'Winona', 'Tara', 'Renee', 'Marlene', 'Crystal', 'Jolene', 'Loretta'],
    male: ['Joseph', 'Daniel', 'Leonard', 'Wilson', 'Harrison', 'Delbert', 'Kee', 'Ernest'],
    family: ['Begay', 'Yazzie', 'Benally', 'Tsosie', 'Nez', 'Etsitty', 'Chee', 'Tso', 'Manuelito', 'Joe'],
  },
  hawaiian: {
    female: ['Leilani', 'Malia', 'Kalani', 'Noelani', 'Keala', 'Pualani', 'Mahina'],
    male: ['Kainoa', 'Keoni', 'Makoa', 'Ikaika', 'Kekoa', 'Nalu', 'Kawika'],
    family: ['Kahale', 'Kealoha', 'Akana', 'Kanoho', 'Makua', 'Kahananui', 'Palakiko', 'Kekumu'],
  },
};

export interface Ancestry {
  readonly race: RaceKey;
  readonly ethnicity: EthnicityKey;
  readonly names: NameGroup;
  readonly language: LanguageKey;
}

/** Roughly the US census mix, with a minority of non-English primary languages. */
export function pickAncestry(rng: Random): Ancestry {
  const group = rng.weighted<NameGroup>([
    ['anglo', 58],
    ['black', 13],
    ['hispanic', 18],
    ['chinese', 2.2],
    ['korean', 0.9],
    ['vietnamese', 1],
    ['indian', 1.8],
    ['filipino', 1.3],
    ['navajo', 1],
    ['hawaiian', 0.4],
  ]);
  switch (group) {
    case 'hispanic':
      return { race: rng.chance(0.85) ? 'white' : 'black', ethnicity: 'hispanic', names: group, language: rng.chance(0.3) ? 'es' : 'en' };
    case 'black':
      return { race: 'black', ethnicity: 'not-hispanic', names: group, language: 'en' };
    case 'chinese':
      return { race: 'asian', ethnicity: 'not-hispanic', names: group, language: rng.chance(0.3) ? 'zh' : 'en' };
    case 'korean':
      return { race: 'asian', ethnicity: 'not-hispanic', names: group, language: rng.chance(0.3) ? 'ko' : 'en' };
    case 'vietnamese':
      return { race: 'asian', ethnicity: 'not-hispanic', names: group, language: rng.chance(0.3) ? 'vi' : 'en' };
    case 'indian':
      return { race: 'asian', ethnicity: 'not-hispanic', names: group, language: rng.chance(0.1) ? 'hi' : 'en' };
    case 'filipino':
      return { race: 'asian', ethnicity: 'not-hispanic', names: group, language: 'en' };
    case 'navajo':
      return { race: 'american-indian', ethnicity: 'not-hispanic', names: group, language: 'en' };
    case 'hawaiian':
      return { race: 'pacific-islander', ethnicity: 'not-hispanic', names: group, language: 'en' };
    case 'anglo':
      return { race: 'white', ethnicity: 'not-hispanic', names: group, language: 'en' };
  }
}

// Random first/last pairs can land on a famous person; these are re-drawn.
const FAMOUS = new Set([
  'Michael Jackson', 'Andrew Jackson', 'James Brown', 'John Williams', 'Robert Johnson', 'Michael Johnson',
  'Andrew Johnson', 'Katherine Johnson', 'David Robinson', 'Tyler Perry', 'Matthew Perry', 'Elizabeth Taylor',
  'James Taylor', 'Emma Watson', 'Grace Kelly', 'Walter White', 'Michael Scott', 'Michael Moore', 'John Adams',
  'Joseph Smith', 'Paul Allen', 'Lily Allen', 'Owen Wilson', 'Brian Wilson', 'Rachel Green', 'Emma Thompson',
  'Carol King', 'Susan Collins', 'Michael Collins', 'Steven Martin', 'Dorothy Parker', 'Paul Walker',
  'Anthony Davis', 'Diego Rivera', 'Natalie Wood', 'Steven King',
]);

export interface PersonName {
  readonly given: string[];
  readonly family: string;
}

export function pickPersonName(rng: Random, group: NameGroup, sex: Sex, family?: string): PersonName {
  for (let attempt = 0; ; attempt++) {
    const surname = family ?? rng.pick(NAME_POOLS[group].family);
    const first = rng.pick(NAME_POOLS[group][sex]);
    if (FAMOUS.has(`${first} ${surname}`) && attempt < 20) continue;
    if (!rng.chance(0.45)) return { given: [first], family: surname };
    // Middle names come from the shared anglo pool, as they often do in US records.
    const middle = rng.pick(sex === 'female' ? ANGLO_FEMALE : ANGLO_MALE);
    return { given: middle === first ? [first] : [first, middle], family: surname };
  }
}

/** Where people settle is not uniform: Hawaiian and Navajo names cluster where those communities live. */
export function pickCity(rng: Random, group: NameGroup): City {
  if (group === 'hawaiian' && rng.chance(0.7)) return findCity(rng.chance(0.7) ? 'Honolulu' : 'Hilo');
  if (group === 'navajo' && rng.chance(0.6)) return findCity(rng.pick(['Gallup', 'Albuquerque', 'Phoenix']));
  return rng.pick(CITIES);
}

/** An e-mail-safe slug of a person's name, e.g. "Ji-woo O'Neil" → "ji-woo-oneil". */
export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f']/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
