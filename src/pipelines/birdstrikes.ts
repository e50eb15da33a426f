import { PipelineDefinition } from '../pipeline/types';

/**
 * Sample pipeline over the FAA wildlife-strike extract shipped by `vega-datasets`
 * (birdstrikes.csv), with its airports.csv as the lookup table.
 *
 *   raw (CSV rows as strings) -> map (typed BirdStrike) -> enrich (normalised, airport resolved)
 */

type Raw = Record<string, string | null>;

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };

/** Days since 1970-01-01 for the date forms the source uses, or throws naming the value. */
export function parseFlightDate(s: string | null): number {
  const v = (s ?? '').trim();
  let y: number, m: number, d: number;
  let r: RegExpExecArray | null;
  if ((r = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$/.exec(v))) [y, m, d] = [+r[1], +r[2], +r[3]];
  else if ((r = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?: .*)?$/.exec(v))) [y, m, d] = [+r[3], +r[1], +r[2]];
  else if ((r = /^([A-Za-z]{3})[a-z]* (\d{1,2}),? (\d{4})$/.exec(v)) && MONTHS[r[1].toLowerCase()]) [y, m, d] = [+r[3], MONTHS[r[1].toLowerCase()], +r[2]];
  else throw new Error(`Flight Date ${JSON.stringify(v)} is not a date`);
  const t = Date.UTC(y, m - 1, d);
  const back = new Date(t);
  if (y < 1900 || y > 2100 || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) throw new Error(`Flight Date ${JSON.stringify(v)} is not a real calendar date`);
  return t / 86_400_000;
}

function text(s: string | null | undefined): string | null {
  const t = (s ?? '').trim();
  return t === '' ? null : t;
}

function money(field: string, s: string | null): number | null {
  const t = (s ?? '').replace(/[$,\s]/g, '');
  if (t === '') return null;
  if (!/^\d+$/.test(t)) throw new Error(`${field} ${JSON.stringify(s)} is not a whole number of dollars`);
  return Number(t);
}

function knots(s: string | null): number | null {
  const t = (s ?? '').trim();
  if (t === '') return null;
  if (!/^\d{1,4}$/.test(t)) throw new Error(`Speed IAS in knots ${JSON.stringify(s)} is not a speed`);
  return Number(t);
}

export function mapBirdStrike(r: Raw) {
  const airport = text(r.Airport_Name);
  if (!airport) throw new Error('Airport Name is empty');
  return {
    airport_name: airport,
    aircraft_model: text(r.Aircraft_Make_Model),
    damage: text(r.Effect_Amount_of_damage),
    flight_date: parseFlightDate(r.Flight_Date),
    operator: text(r.Aircraft_Airline_Operator),
    origin_state: text(r.Origin_State),
    phase_of_flight: text(r.Phase_of_flight),
    wildlife_size: text(r.Wildlife_Size),
    wildlife_species: text(r.Wildlife_Species),
    time_of_day: text(r.Time_of_day),
    cost_other_usd: money('Cost Other', r.Cost_Other),
    cost_repair_usd: money('Cost Repair', r.Cost_Repair),
    cost_total_usd: money('Cost Total $', r.Cost_Total),
    speed_ias_knots: knots(r.Speed_IAS_in_knots),
  };
}

export const US_STATES: Record<string, string> = {
  alabama: 'AL', alaska: 'AK', arizona: 'AZ', arkansas: 'AR', california: 'CA', colorado: 'CO', connecticut: 'CT', delaware: 'DE',
  'district of columbia': 'DC', florida: 'FL', georgia: 'GA', hawaii: 'HI', idaho: 'ID', illinois: 'IL', indiana: 'IN', iowa: 'IA',
  kansas: 'KS', kentucky: 'KY', louisiana: 'LA', maine: 'ME', maryland: 'MD', massachusetts: 'MA', michigan: 'MI', minnesota: 'MN',
  mississippi: 'MS', missouri: 'MO', montana: 'MT', nebraska: 'NE', nevada: 'NV', 'new hampshire': 'NH', 'new jersey': 'NJ',
  'new mexico': 'NM', 'new york': 'NY', 'north carolina': 'NC', 'north dakota': 'ND', ohio: 'OH', oklahoma: 'OK', oregon: 'OR',
  pennsylvania: 'PA', 'rhode island': 'RI', 'south carolina': 'SC', 'south dakota': 'SD', tennessee: 'TN', texas: 'TX', utah: 'UT',
  vermont: 'VT', virginia: 'VA', washington: 'WA', 'west virginia': 'WV', wisconsin: 'WI', wyoming: 'WY', 'puerto rico': 'PR',
};

const STOP = new Set(['ARPT', 'AIRPORT', 'AIRPRT', 'FIELD', 'MUNICIPAL', 'REGIONAL', 'COUNTY', 'THE', 'OF', 'AND', 'NATL', 'NATIONAL', 'WORLD', 'AIRFIELD', 'AFB', 'BASE', 'AIR', 'FORCE']);

/** Upper case, punctuation to spaces, abbreviations expanded: "CHICAGO O'HARE INTL ARPT" -> "CHICAGO O HARE INTL". */
export function normalizeAirportName(s: string): string {
  return s.toUpperCase().replace(/\bINTERNATIONAL\b/g, 'INTL').replace(/\b(AIRPORT|AIRPRT)\b/g, 'ARPT')
    .replace(/[^A-Z0-9]+/g, ' ').replace(/\bARPT\b/g, '').replace(/\s+/g, ' ').trim();
}

function tokens(s: string): string[] {
  return normalizeAirportName(s).split(' ').filter((t) => t.length > 1 && !STOP.has(t));
}

function titleCase(s: string): string {
  return s.toLowerCase().replace(/(^|[\s/-])([a-z])/g, (_m, a: string, b: string) => a + b.toUpperCase());
}

interface Airport {
  iata: string;
  name: string;
  city: string;
  state: string;
  latitude: number | null;
  longitude: number | null;
  tokens: Set<string>;
}

export interface AirportIndex {
  byState: Map<string, Airport[]>;
  /** Reports name the same airports over and over: resolve each (name, state) once. */
  resolved: Map<string, Airport | null>;
}

export function indexAirports(rows: Record<string, unknown>[]): AirportIndex {
  const byState = new Map<string, Airport[]>();
  for (const r of rows) {
    const num = (v: unknown) => (v === '' || v === undefined || v === null || Number.isNaN(Number(v)) ? null : Number(v));
    const a: Airport = {
      iata: String(r.iata ?? ''), name: String(r.name ?? ''), city: String(r.city ?? ''), state: String(r.state ?? ''),
      latitude: num(r.latitude), longitude: num(r.longitude), tokens: new Set([...tokens(String(r.name ?? '')), ...tokens(String(r.city ?? ''))]),
    };
    const list = byState.get(a.state) ?? [];
    list.push(a);
    byState.set(a.state, list);
  }
  return { byState, resolved: new Map() };
}

/** The airport in the state whose name and city share the most words with the reported name; ties are unresolved. */
export function resolveAirport(idx: AirportIndex, reported: string, stateCode: string | null): Airport | null {
  if (!stateCode) return null;
  const key = `${stateCode}|${reported}`;
  let hit = idx.resolved.get(key);
  if (hit === undefined) idx.resolved.set(key, (hit = scoreAirports(idx, reported, stateCode)));
  return hit;
}

function scoreAirports(idx: AirportIndex, reported: string, stateCode: string): Airport | null {
  const want = tokens(reported);
  if (want.length === 0) return null;
  let best: Airport | null = null;
  let bestScore = 0;
  let tie = false;
  const candidates = (NEARBY_STATES[stateCode] ?? [stateCode]).flatMap((st) => idx.byState.get(st) ?? []);
  for (const a of candidates) {
    let score = 0;
    for (const t of want) if (a.tokens.has(t)) score++;
    if (score > bestScore) [best, bestScore, tie] = [a, score, false];
    else if (score === bestScore && score > 0) tie = true;
  }
  if (!best || tie || bestScore < Math.min(2, want.length)) return null;
  return best;
}

/** Reports filed under DC are for airports that lie in Virginia and Maryland. */
const NEARBY_STATES: Record<string, string[]> = { DC: ['DC', 'VA', 'MD'] };

const DAMAGE: Record<string, string> = {
  none: 'NONE', n: 'NONE', minor: 'MINOR', m: 'MINOR', medium: 'MEDIUM', 'm?': 'MEDIUM', substantial: 'SUBSTANTIAL', s: 'SUBSTANTIAL', destroyed: 'DESTROYED', d: 'DESTROYED',
};

type Mapped = ReturnType<typeof mapBirdStrike>;

export function enrichBirdStrike(r: Mapped, idx: AirportIndex) {
  const flags: string[] = [];
  const st = r.origin_state?.trim() ?? '';
  const stateCode = US_STATES[st.toLowerCase()] ?? (Object.values(US_STATES).includes(st.toUpperCase()) ? st.toUpperCase() : null);
  if (r.origin_state && !stateCode) flags.push('state_unknown');
  const airport = resolveAirport(idx, r.airport_name, stateCode);
  if (!airport) flags.push('airport_unresolved');
  const damage = r.damage ? DAMAGE[r.damage.trim().toLowerCase()] : undefined;
  if (r.damage && !damage) flags.push('damage_code_unknown');
  const iso = new Date(r.flight_date * 86_400_000).toISOString().slice(0, 10);
  return {
    flight_date: r.flight_date,
    flight_date_iso: iso,
    year: Number(iso.slice(0, 4)),
    airport_name: r.airport_name,
    airport_name_normalized: normalizeAirportName(r.airport_name),
    airport_iata: airport?.iata ?? null,
    airport_city: airport?.city ?? null,
    latitude: airport?.latitude ?? null,
    longitude: airport?.longitude ?? null,
    origin_state: r.origin_state,
    origin_state_code: stateCode,
    operator: r.operator ? titleCase(r.operator.replace(/\*+$/, '').trim()) : null,
    aircraft_model: r.aircraft_model,
    damage_level: damage ?? 'UNKNOWN',
    phase_of_flight: r.phase_of_flight,
    wildlife_size: r.wildlife_size,
    wildlife_species: r.wildlife_species,
    time_of_day: r.time_of_day,
    cost_total_usd: r.cost_total_usd,
    speed_ias_knots: r.speed_ias_knots,
    flags,
  };
}

// A worker hands every partition the same frozen airports array (per ETag), so the index is built
// once per table rather than once per partition: on tiny partitions indexing cost more than the
// records did (about 18% of the worker's CPU in the scale bench, by profile).
const indexes = new WeakMap<object, AirportIndex>();
function airportIndex(rows: Record<string, unknown>[]): AirportIndex {
  let idx = indexes.get(rows);
  if (!idx) indexes.set(rows, (idx = indexAirports(rows)));
  return idx;
}

export const birdstrikesPipeline: PipelineDefinition = {
  name: 'birdstrikes',
  description: 'FAA wildlife strikes: type the raw CSV rows, then normalise and resolve airports.',
  lookups: { airports: { defaultKey: 'reference/airports.csv', format: 'csv', columns: ['iata', 'name', 'city', 'state'] } },
  stages: [
    { name: 'map', schema: 'birdstrike@1', version: '1', lookups: [], transform: (r: Raw) => mapBirdStrike(r) },
    {
      name: 'enrich',
      schema: 'birdstrike_enriched@1',
      version: '1',
      lookups: ['airports'],
      setup: async (ctx) => airportIndex(await ctx.lookup('airports')),
      transform: (r: Mapped, ctx) => enrichBirdStrike(r, ctx.state as AirportIndex),
    },
  ],
};
