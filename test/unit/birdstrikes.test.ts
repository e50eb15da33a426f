import { enrichBirdStrike, indexAirports, mapBirdStrike, normalizeAirportName, parseFlightDate } from '../../src/pipelines/birdstrikes';
import { loadSchema } from '../../src/avro/schemas';

const raw = {
  Airport_Name: 'NASHVILLE INTL', Aircraft_Make_Model: 'B-737-300', Effect_Amount_of_damage: 'Minor', Flight_Date: '1996-10-03',
  Aircraft_Airline_Operator: 'US AIRWAYS*', Origin_State: 'Tennessee', Phase_of_flight: 'Approach', Wildlife_Size: 'Small',
  Wildlife_Species: 'European starling', Time_of_day: 'Day', Cost_Other: '0', Cost_Repair: '1,200', Cost_Total: '$1200', Speed_IAS_in_knots: '',
};
const airports = indexAirports([
  { iata: 'BNA', name: 'Nashville International', city: 'Nashville', state: 'TN', latitude: '36.12', longitude: '-86.67' },
  { iata: 'JWN', name: 'John C Tune', city: 'Nashville', state: 'TN', latitude: '36.18', longitude: '-86.88' },
]);

describe('birdstrikes map', () => {
  it('types a raw row into the clean schema', () => {
    const m = mapBirdStrike(raw);
    expect(m).toMatchObject({ flight_date: 9772, cost_repair_usd: 1200, cost_total_usd: 1200, speed_ias_knots: null, damage: 'Minor' });
    expect(loadSchema('birdstrike@1').type.isValid(m)).toBe(true);
  });

  it.each([
    ['1996-10-03', 9772], ['10/3/1996', 9772], ['Oct 3, 1996', 9772], ['1996-10-03 00:00:00', 9772],
  ])('reads the date %s', (s, days) => expect(parseFlightDate(s)).toBe(days));

  it.each([
    [{ Flight_Date: '1996-02-30' }, /not a real calendar date/],
    [{ Flight_Date: 'yesterday' }, /Flight Date "yesterday" is not a date/],
    [{ Airport_Name: '  ' }, /Airport Name is empty/],
    [{ Cost_Total: '12.5' }, /Cost Total \$ "12.5" is not a whole number/],
    [{ Speed_IAS_in_knots: 'fast' }, /Speed IAS in knots "fast"/],
  ])('rejects %p with a reason', (patch, msg) => {
    expect(() => mapBirdStrike({ ...raw, ...patch })).toThrow(msg);
  });
});

describe('birdstrikes enrich', () => {
  it('normalises names and resolves the airport within the state', () => {
    const e = enrichBirdStrike(mapBirdStrike(raw), airports);
    expect(e).toMatchObject({
      flight_date_iso: '1996-10-03', year: 1996, airport_iata: 'BNA', airport_city: 'Nashville', latitude: 36.12, origin_state_code: 'TN',
      operator: 'Us Airways', damage_level: 'MINOR', flags: [],
    });
    expect(loadSchema('birdstrike_enriched@1').type.isValid(e)).toBe(true);
    expect(normalizeAirportName("CHICAGO O'HARE INTL ARPT")).toBe('CHICAGO O HARE INTL');
  });

  it('flags what it cannot resolve instead of guessing', () => {
    const e = enrichBirdStrike(mapBirdStrike({ ...raw, Airport_Name: 'NOWHERE FIELD', Origin_State: 'Atlantis', Effect_Amount_of_damage: 'C' }), airports);
    expect(e.flags).toEqual(['state_unknown', 'airport_unresolved', 'damage_code_unknown']);
    expect(e).toMatchObject({ airport_iata: null, latitude: null, origin_state_code: null, damage_level: 'UNKNOWN' });
  });
});
