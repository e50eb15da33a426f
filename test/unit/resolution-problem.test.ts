import { Type } from 'avsc';
import { resolutionProblem } from '../../src/avro/resolution-problem';

const weather = Type.forSchema({ type: 'record', name: 'Weather', namespace: 'test', fields: [{ name: 'station', type: 'string' }, { name: 'temp', type: 'int' }] });

describe('resolutionProblem', () => {
  it('names the field where reading fails', () => {
    const older = Type.forSchema({ type: 'record', name: 'Weather', namespace: 'test', fields: [{ name: 'station', type: 'string' }, { name: 'temp', type: 'string' }] });
    expect(resolutionProblem(weather, older)).toBe('field temp: cannot read "string" as "int"');
    expect(resolutionProblem(weather, weather)).toBeNull();
  });

  it('says which types differ where avsc fails on its own internals (a union or a primitive read as a record)', () => {
    expect(resolutionProblem(weather, Type.forSchema(['null', 'int']))).toBe('cannot read "null" as record test.Weather');
    expect(resolutionProblem(weather, Type.forSchema('int'))).toBe('cannot read "int" as record test.Weather');
    expect(resolutionProblem(weather, Type.forSchema('int'))).not.toMatch(/properties of undefined/);
  });
});
