import { Schema, Type } from 'avsc';
import { droppedFields } from '../../src/avro/dropped-fields';

const t = (s: object) => Type.forSchema(s as Schema, { wrapUnions: 'auto' });
const offer = (extra: object[] = []) => t({ type: 'record', name: 'Offer', fields: [{ name: 'id', type: 'long' }, { name: 'title', type: 'string' }, ...extra] });
const price = { name: 'price', type: ['null', 'double'], default: null };

describe('droppedFields', () => {
  it('is empty for the same schema, and for a reader that adds a field with a default', () => {
    expect(droppedFields(offer(), offer())).toEqual([]);
    expect(droppedFields(offer(), offer([price]))).toEqual([]);
  });

  it('names a writer field the reader lacks', () => {
    expect(droppedFields(offer([price]), offer())).toEqual(['price']);
  });

  it('does not count a field the reader has under an alias, or a promotion', () => {
    const writer = t({ type: 'record', name: 'R', fields: [{ name: 'cost', type: 'int' }] });
    const reader = t({ type: 'record', name: 'R', fields: [{ name: 'price', aliases: ['cost'], type: 'long' }] });
    expect(droppedFields(writer, reader)).toEqual([]);
  });

  it('follows nested records, array items, map values, nullable unions and logical types', () => {
    const inner = (fields: object[]) => ({ type: 'record', name: 'Line', fields: [{ name: 'sku', type: 'string' }, ...fields] });
    const order = (fields: object[]) => t({
      type: 'record', name: 'Order', fields: [
        { name: 'lines', type: { type: 'array', items: inner(fields) } },
        { name: 'byShop', type: { type: 'map', values: { type: 'record', name: 'Shop', fields: [{ name: 'n', type: 'int' }, ...fields.map((f) => ({ ...f }))] } } },
        { name: 'gift', type: ['null', { type: 'record', name: 'Gift', fields: [{ name: 'to', type: 'string' }, ...fields.map((f) => ({ ...f }))] }], default: null },
        { name: 'day', type: { type: 'int', logicalType: 'date' } },
      ],
    });
    const tax = { name: 'tax', type: 'double', default: 0 };
    expect(droppedFields(order([tax]), order([]))).toEqual(['lines[].tax', 'byShop{}.tax', 'gift.tax']);
    expect(droppedFields(order([]), order([tax]))).toEqual([]);
  });

  it('names enum symbols the reader lacks, which its default would silently replace', () => {
    const status = (symbols: string[]) => t({ type: 'record', name: 'R', fields: [{ name: 'status', type: { type: 'enum', name: 'S', symbols, default: 'A' } }] });
    expect(droppedFields(status(['A', 'B', 'C']), status(['A', 'B']))).toEqual(['status: symbol C']);
    expect(droppedFields(status(['A']), status(['A', 'B']))).toEqual([]);
  });

  it('ends on recursive schemas', () => {
    const node = (fields: object[]) => t({ type: 'record', name: 'Node', fields: [{ name: 'next', type: ['null', 'Node'], default: null }, ...fields] });
    expect(droppedFields(node([{ name: 'v', type: 'int' }]), node([]))).toEqual(['v']);
  });
});
