import avro, { ForSchemaOptions, Schema, Type } from 'avsc';
import { installAvscGuards } from './guards';
import { MAX_RECORD_FIELDS, SchemaWidthError } from './schema-depth';

/**
 * Record fields named `__proto__`, a valid Avro name that fastavro and Java read and write like
 * any other. avsc compiles a record's code with its field names in it (`this.__proto__ = v`,
 * `v.__proto__`), which for this name is Object.prototype's accessor: a decoded record loses the
 * field (a number is ignored, a record becomes the prototype), and encoding reads the prototype
 * ("invalid "int": {}"). Its schema resolution and its fields-by-name lookup key plain objects by
 * field name, where the name sets the prototype too: a reader schema without the field skipped
 * nothing for it and read on from the middle of the record, one with it found no writer field.
 *
 * SafeRecordType is avsc's RecordType with those pieces replaced, for records that have (or are
 * resolved against) such a field: the field is an own property, set with defineProperty and read
 * only when own. Every other record keeps avsc's own compiled code. Only types built by
 * `forSchema` get this: partflow builds every type with it, never with avsc's Type.forSchema.
 */
const PROTO = '__proto__';
/** What `__proto__` is called while avsc's resolver code is compiled: `$` is in no Avro name. */
const PROTO_STANDIN = '$proto$';

interface Tap {
  writeBinary(s: string, len: number): void;
}
type CheckHook = (v: unknown, t: Type) => void;
interface FieldType extends Type {
  _write(tap: Tap, v: unknown): void;
  _check(v: unknown, flags: unknown, hook?: CheckHook, path?: string[]): boolean;
  _copy(v: unknown, opts?: unknown): unknown;
}
interface Field {
  readonly name: string;
  readonly aliases: string[];
  readonly type: FieldType;
  readonly _order: number;
  defaultValue(): unknown;
}
type RecordConstructor = (new (...values: unknown[]) => object) & Record<string, unknown>;
interface RecordInternals extends Type {
  readonly fields: Field[];
  readonly recordConstructor: RecordConstructor;
  readonly _fieldsByName: Record<string, Field>;
  _getConstructorName(): string;
  _createConstructor(errorStack: boolean, plainRecords: boolean): RecordConstructor;
  _createWriter(): (tap: Tap, v: unknown) => void;
  _createChecker(): (v: unknown, flags: unknown, hook?: CheckHook, path?: string[]) => boolean;
  _checkFields(v: object): boolean;
  _copy(v: unknown, opts?: { fieldHook?: (f: Field, v: unknown, t: Type) => unknown; skip?: boolean }): unknown;
  _update(resolver: object, writer: Type, opts: unknown): void;
  compare(a: unknown, b: unknown): number;
}
const RecordType = avro.types.RecordType as unknown as new (schema: Schema, opts: ForSchemaOptions) => RecordInternals;

const hasProtoField = (fields: readonly Field[]) => fields.some((f) => f.name === PROTO);

/** The record's `__proto__` field: its own property, never the inherited accessor. */
function ownProto(v: object): unknown {
  return Object.hasOwn(v, PROTO) ? (v as Record<string, unknown>)[PROTO] : undefined;
}

/** Sets a key of a plain object, "__proto__" included (assigning it would set the prototype instead). */
export function setEntry<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === PROTO) Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

const defineProto = (obj: object, value: unknown): void => setEntry(obj as Record<string, unknown>, PROTO, value);

const getter = (name: string) => (name === PROTO ? ownProto : (v: object) => (v as Record<string, unknown>)[name]);

/** A record's field by name, "__proto__" included (only as its own property, never the prototype). */
export function fieldValue(record: object, name: string): unknown {
  return getter(name)(record);
}

class SafeRecordType extends RecordType {
  constructor(schema: Schema, opts: ForSchemaOptions) {
    super(schema, opts);
    // avsc's fields by name (field(), and the check for undeclared fields) got the field as its
    // prototype: every name a Field has (name, type, doc…) would pass for a declared field.
    if (hasProtoField(this.fields)) {
      const byName = this._fieldsByName;
      Object.setPrototypeOf(byName, null);
      byName[PROTO] = this.fields.find((f) => f.name === PROTO)!;
    }
  }

  // Called by RecordType's constructor, as are the two below: `this.fields` is set by then.
  _createConstructor(errorStack: boolean, plainRecords: boolean): RecordConstructor {
    const Record = super._createConstructor(errorStack, plainRecords);
    if (!hasProtoField(this.fields)) return Record;
    // avsc's compiled constructor, with defineProperty for `__proto__` (field names are Avro
    // names, so they are safe in code); the prototype and its methods stay avsc's.
    const defaults: (() => unknown)[] = [];
    const args: string[] = [];
    let body = '';
    this.fields.forEach((f, i) => {
      args.push(`v${i}`);
      let v = `v${i}`;
      if (f.defaultValue() !== undefined) {
        defaults[i] = () => f.defaultValue();
        v = `(v${i} === undefined ? d[${i}]() : v${i})`;
      }
      body += f.name === PROTO ? `  define(this, ${v});\n` : `  this.${f.name} = ${v};\n`;
    });
    const code = `return function ${this._getConstructorName()}(${args.join(', ')}) {\n${body}};`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const Own = new Function('d', 'define', code)(defaults, defineProto) as RecordConstructor;
    Own.prototype = Record.prototype;
    Record.prototype.constructor = Own;
    Object.assign(Own, Record);
    return Own;
  }

  _createWriter(): (tap: Tap, v: unknown) => void {
    if (!hasProtoField(this.fields)) return super._createWriter();
    const types: FieldType[] = [];
    const defaults: string[] = [];
    let body = '';
    this.fields.forEach((f, i) => {
      types.push(f.type);
      const get = f.name === PROTO ? 'own(v)' : `v.${f.name}`;
      if (f.defaultValue() === undefined) {
        body += `  T[${i}]._write(t, ${get});\n`;
        return;
      }
      // As avsc does: a missing value with a default writes the default's bytes.
      defaults[i] = f.type.toBuffer(f.defaultValue()).toString('binary');
      body += `  var v${i} = ${get};\n  if (v${i} === undefined) t.writeBinary(D[${i}], ${defaults[i].length}); else T[${i}]._write(t, v${i});\n`;
    });
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    return new Function('T', 'D', 'own', `return function write${this._getConstructorName()}(t, v) {\n${body}};`)(types, defaults, ownProto);
  }

  _createChecker(): (v: unknown, flags: unknown, hook?: CheckHook, path?: string[]) => boolean {
    if (!hasProtoField(this.fields)) return super._createChecker();
    const fields = this.fields;
    const gets = fields.map((f) => getter(f.name));
    const optional = fields.map((f) => f.defaultValue() !== undefined);
    // avsc's checker: with a hook, every field is checked and its name is on the path.
    return function check(this: RecordInternals, v: unknown, flags: unknown, hook?: CheckHook, path?: string[]): boolean {
      if (v === null || typeof v !== 'object' || (flags && !this._checkFields(v))) {
        if (hook) hook(v, this);
        return false;
      }
      let ok = true;
      const j = path ? path.length : 0;
      if (hook) path!.push('');
      for (let i = 0; i < fields.length; i++) {
        const x = gets[i](v);
        if (optional[i] && x === undefined) continue;
        if (!hook) {
          if (!fields[i].type._check(x, flags)) return false;
          continue;
        }
        path![j] = fields[i].name;
        if (!fields[i].type._check(x, flags, hook, path)) ok = false;
      }
      if (hook) path!.pop();
      return ok;
    };
  }

  _copy(val: unknown, opts?: { fieldHook?: (f: Field, v: unknown, t: Type) => unknown; skip?: boolean }): unknown {
    if (!hasProtoField(this.fields)) return super._copy(val, opts);
    const hook = opts?.fieldHook;
    const values = this.fields.map((field) => {
      let value = getter(field.name)(val as object);
      if (value === undefined && Object.hasOwn(field, 'defaultValue')) value = field.defaultValue();
      if ((opts && !opts.skip) || value !== undefined) value = field.type._copy(value, opts);
      return hook ? hook(field, value, this) : value;
    });
    return new this.recordConstructor(...values);
  }

  compare(a: unknown, b: unknown): number {
    if (!hasProtoField(this.fields)) return super.compare(a, b);
    for (const f of this.fields) {
      if (!f._order) continue;
      const get = getter(f.name);
      const order = f._order * f.type.compare(get(a as object), get(b as object));
      if (order) return order;
    }
    return 0;
  }

  // Resolution (a reader schema other than the writer's): avsc's code, run on views of both
  // records where `__proto__` goes by a stand-in name, so that its maps by name hold it as a key.
  _update(resolver: object, writer: Type, opts: unknown): void {
    const w = writer as RecordInternals;
    if (!namesProto(this) && !(Array.isArray(w.fields) && namesProto(w))) return super._update(resolver, writer, opts);
    super._update.call(standIn(this), resolver, standIn(w), opts);
  }
}

function namesProto(t: RecordInternals): boolean {
  return t.fields.some((f) => f.name === PROTO || f.aliases.includes(PROTO));
}

function standIn<T extends RecordInternals>(t: T): T {
  const rename = (n: string) => (n === PROTO ? PROTO_STANDIN : n);
  const fields = t.fields.map((f) => (f.name === PROTO || f.aliases.includes(PROTO)
    ? Object.create(f, { name: { value: rename(f.name) }, aliases: { value: f.aliases.map(rename) } }) as Field
    : f));
  return Object.create(t, { fields: { value: fields } }) as T;
}

function typeHook(schema: Schema, opts: ForSchemaOptions): Type | undefined {
  const s = schema as { type?: unknown; logicalType?: unknown } | null;
  if (s === null || typeof s !== 'object' || Array.isArray(s) || (s.type !== 'record' && s.type !== 'error')) return undefined;
  // A logical type over a record is avsc's to build (partflow registers none).
  if (s.logicalType !== undefined && opts.logicalTypes) return undefined;
  const fields = (s as { fields?: unknown }).fields;
  if (Array.isArray(fields) && fields.length > MAX_RECORD_FIELDS) throw new SchemaWidthError(String((s as { name?: unknown }).name ?? '(anonymous)'), fields.length);
  return new SafeRecordType(schema, opts);
}

/**
 * avsc's Type.forSchema, with records built as SafeRecordType (all of them: a record without the
 * field may still be resolved against one with it).
 */
// Maps keyed "__proto__" are the guards' part (their map reader), so every type built here has them.
installAvscGuards();

/** `opts.typeHook`, if given, builds what this module's hook leaves (every type but records). */
export function forSchema(schema: unknown, opts: Partial<ForSchemaOptions> = {}): Type {
  const more = opts.typeHook;
  const hook = more ? (s: Schema, o: ForSchemaOptions) => typeHook(s, o) ?? more(s, o) : typeHook;
  return Type.forSchema(schema as Schema, { ...opts, typeHook: hook } as Partial<ForSchemaOptions>);
}
