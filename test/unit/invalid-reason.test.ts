import { Type } from 'avsc';
import { invalidReason } from '../../activities/transform-step';

describe('why an output does not fit its schema', () => {
  const type = Type.forSchema({
    type: 'record', name: 'Order', fields: [
      { name: 'id', type: 'long' },
      { name: 'notes', type: ['null', 'string'] },
      { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'DONE'] } },
    ],
  } as never);

  it("names the field, the value and the type in the schema's own words", () => {
    expect(invalidReason(type, { id: 1, notes: 7, status: 'NEW' })).toBe('output does not match schema: notes: 7 is not one of null, string');
    expect(invalidReason(type, { id: 'x', notes: null, status: 'LOST' })).toBe('output does not match schema: id: "x" is not a long; status: "LOST" is not an enum Status');
  });
});
