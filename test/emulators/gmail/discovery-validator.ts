// Checks requests and responses against Google's discovery document for Gmail v1 (vendored
// in spec/, revision 20231218): which methods exist, their path and query parameters, and the
// JSON schemas of request and response bodies. Google rejects unknown fields in request
// bodies ("Invalid JSON payload received. Unknown name ..."), so unknown fields are errors in
// both directions: a response the document does not describe is an emulator bug.

import fs from 'node:fs';
import path from 'node:path';

export interface DiscoveryParameter {
  type: 'string' | 'integer' | 'boolean' | 'number';
  location?: 'path' | 'query';
  required?: boolean;
  repeated?: boolean;
  enum?: string[];
  format?: string;
  minimum?: string;
  maximum?: string;
}

export interface DiscoverySchema {
  id?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'boolean' | 'number' | 'any';
  $ref?: string;
  format?: string;
  enum?: string[];
  properties?: Record<string, DiscoverySchema>;
  additionalProperties?: DiscoverySchema;
  items?: DiscoverySchema;
  annotations?: { required?: string[] };
}

export interface DiscoveryMethod {
  id: string;
  httpMethod: string;
  path: string;
  parameters?: Record<string, DiscoveryParameter>;
  parameterOrder?: string[];
  request?: { $ref: string };
  response?: { $ref: string };
}

interface DiscoveryResource {
  methods?: Record<string, DiscoveryMethod>;
  resources?: Record<string, DiscoveryResource>;
}

interface DiscoveryDocument {
  servicePath: string;
  batchPath: string;
  parameters: Record<string, DiscoveryParameter>;
  schemas: Record<string, DiscoverySchema>;
  resources: Record<string, DiscoveryResource>;
}

export interface MatchedMethod {
  method: DiscoveryMethod;
  pathParams: Record<string, string>;
}

interface Route {
  method: DiscoveryMethod;
  regex: RegExp;
  names: string[];
  /** Literal characters in the template: the most specific route wins (messages/send before messages/{id}). */
  literalLength: number;
}

function findSpecFile(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'test', 'emulators', 'gmail', 'spec', 'gmail-v1-discovery.json');
    if (fs.existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('gmail-v1-discovery.json not found above ' + __dirname);
    dir = up;
  }
}

export class DiscoveryValidator {
  readonly doc: DiscoveryDocument;
  private readonly routes: Route[] = [];
  private readonly byId = new Map<string, DiscoveryMethod>();

  constructor(doc?: DiscoveryDocument) {
    this.doc = doc ?? (JSON.parse(fs.readFileSync(findSpecFile(), 'utf8')) as DiscoveryDocument);
    const walk = (res: DiscoveryResource): void => {
      for (const m of Object.values(res.methods ?? {})) this.addRoute(m);
      for (const r of Object.values(res.resources ?? {})) walk(r);
    };
    for (const r of Object.values(this.doc.resources)) walk(r);
    this.routes.sort((a, b) => b.literalLength - a.literalLength);
  }

  private addRoute(m: DiscoveryMethod): void {
    this.byId.set(m.id, m);
    const names: string[] = [];
    let literal = 0;
    const source = m.path.replace(/\{\+?(\w+)\}|[^{]+/g, (part, name?: string) => {
      if (name !== undefined) {
        names.push(name);
        return '([^/]+)';
      }
      literal += part.length;
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    });
    this.routes.push({ method: m, regex: new RegExp('^' + source + '$'), names, literalLength: literal });
  }

  method(id: string): DiscoveryMethod {
    const m = this.byId.get(id);
    if (!m) throw new Error('no such method in the discovery document: ' + id);
    return m;
  }

  /** The method for an HTTP method and URL path without the leading slash (gmail/v1/users/me/messages), or null. */
  match(httpMethod: string, urlPath: string): MatchedMethod | null {
    for (const r of this.routes) {
      if (r.method.httpMethod !== httpMethod) continue;
      const m = r.regex.exec(urlPath);
      if (!m) continue;
      const pathParams: Record<string, string> = {};
      let ok = true;
      r.names.forEach((n, i) => {
        try {
          pathParams[n] = decodeURIComponent(m[i + 1]!);
        } catch {
          ok = false;
        }
      });
      if (ok) return { method: r.method, pathParams };
    }
    return null;
  }

  /** Errors in the query string and request body of a call to `method` (empty when valid). */
  validateRequest(method: DiscoveryMethod, query: URLSearchParams, body: unknown): string[] {
    const errors: string[] = [];
    const params = method.parameters ?? {};
    const seen = new Set<string>();
    for (const [name, value] of query) {
      const p = params[name] ?? this.doc.parameters[name];
      if (!p || p.location === 'path') {
        errors.push(`unknown query parameter "${name}"`);
        continue;
      }
      if (seen.has(name) && !p.repeated) errors.push(`query parameter "${name}" is not repeated`);
      seen.add(name);
      errors.push(...checkScalar(`query parameter "${name}"`, p, value));
    }
    for (const [name, p] of Object.entries(params)) {
      if (p.required && p.location === 'query' && !query.has(name)) errors.push(`missing required query parameter "${name}"`);
    }
    if (method.request) {
      if (body === undefined) {
        errors.push('missing request body');
      } else {
        errors.push(...this.validateValue(method.request.$ref, body, 'request', method.id));
      }
    } else if (body !== undefined && !(isObject(body) && Object.keys(body).length === 0)) {
      errors.push(`${method.id} takes no request body`);
    }
    return errors;
  }

  /** Errors in a success response body of `methodId` (empty when valid). */
  validateResponse(methodId: string, body: unknown): string[] {
    const method = this.method(methodId);
    if (!method.response) {
      return body === undefined || body === '' ? [] : [`${methodId} has no response body, got ${JSON.stringify(body).slice(0, 80)}`];
    }
    return this.validateValue(method.response.$ref, body, 'response');
  }

  /** Errors in `value` against the named schema; `requestOf` enables required-field annotations. */
  validateValue(schemaName: string, value: unknown, at: string, requestOf?: string): string[] {
    const schema = this.doc.schemas[schemaName];
    if (!schema) return [`${at}: unknown schema ${schemaName}`];
    const errors: string[] = [];
    this.check(schema, value, at, errors, requestOf, 0);
    return errors;
  }

  private check(schema: DiscoverySchema, value: unknown, at: string, errors: string[], requestOf: string | undefined, depth: number): void {
    if (depth > 64) {
      errors.push(`${at}: nested too deeply`);
      return;
    }
    if (schema.$ref) {
      const target = this.doc.schemas[schema.$ref];
      if (!target) errors.push(`${at}: unknown schema ${schema.$ref}`);
      else this.check(target, value, at, errors, requestOf, depth + 1);
      return;
    }
    switch (schema.type) {
      case 'object': {
        if (!isObject(value)) {
          errors.push(`${at}: expected an object, got ${typeName(value)}`);
          return;
        }
        const props = schema.properties ?? {};
        for (const [k, v] of Object.entries(value)) {
          const p = props[k] ?? schema.additionalProperties;
          if (!p) errors.push(`${at}: unknown field "${k}"`);
          else this.check(p, v, `${at}.${k}`, errors, requestOf, depth + 1);
        }
        if (requestOf) {
          for (const [k, p] of Object.entries(props)) {
            if (p.annotations?.required?.includes(requestOf) && !(k in value)) errors.push(`${at}: missing required field "${k}"`);
          }
        }
        return;
      }
      case 'array': {
        if (!Array.isArray(value)) {
          errors.push(`${at}: expected an array, got ${typeName(value)}`);
          return;
        }
        value.forEach((item, i) => this.check(schema.items ?? {}, item, `${at}[${i}]`, errors, requestOf, depth + 1));
        return;
      }
      case 'any':
      case undefined:
        return;
      default:
        errors.push(...checkJsonScalar(at, schema, value));
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

/** A JSON scalar: strings carry int64/uint64 as decimal strings and bytes as base64. */
function checkJsonScalar(at: string, schema: DiscoverySchema, value: unknown): string[] {
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') return [`${at}: expected a string, got ${typeName(value)}`];
      return checkStringFormat(at, schema, value);
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return [`${at}: expected an integer, got ${JSON.stringify(value)}`];
      const range = INT_RANGES[schema.format ?? 'int32'];
      if (range && (value < range[0] || value > range[1])) return [`${at}: ${value} out of ${schema.format} range`];
      return [];
    }
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? [] : [`${at}: expected a number, got ${typeName(value)}`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at}: expected a boolean, got ${typeName(value)}`];
    default:
      return [`${at}: unsupported schema type ${String(schema.type)}`];
  }
}

function checkStringFormat(at: string, schema: { format?: string; enum?: string[] }, value: string): string[] {
  if (schema.enum && !schema.enum.includes(value)) return [`${at}: "${value}" is not one of ${schema.enum.join(', ')}`];
  switch (schema.format) {
    case 'uint64':
      return /^(0|[1-9]\d{0,19})$/.test(value) && BigInt(value) < 2n ** 64n ? [] : [`${at}: "${value}" is not a uint64`];
    case 'int64':
      return /^-?(0|[1-9]\d{0,18})$/.test(value) ? [] : [`${at}: "${value}" is not an int64`];
    case 'byte':
      // Google accepts and emits both the standard and the URL-safe alphabet.
      return /^[A-Za-z0-9+/_-]*={0,2}$/.test(value) ? [] : [`${at}: not base64`];
    default:
      return [];
  }
}

/** A query or path parameter, which arrives as text. */
function checkScalar(at: string, p: DiscoveryParameter, value: string): string[] {
  switch (p.type) {
    case 'string':
      return checkStringFormat(at, p, value);
    case 'integer': {
      if (!/^-?\d+$/.test(value)) return [`${at}: "${value}" is not an integer`];
      const n = Number(value);
      if (p.minimum !== undefined && n < Number(p.minimum)) return [`${at}: below ${p.minimum}`];
      if (p.maximum !== undefined && n > Number(p.maximum)) return [`${at}: above ${p.maximum}`];
      return [];
    }
    case 'boolean':
      return value === 'true' || value === 'false' ? [] : [`${at}: "${value}" is not a boolean`];
    case 'number':
      return Number.isFinite(Number(value)) ? [] : [`${at}: "${value}" is not a number`];
  }
}

let shared: DiscoveryValidator | undefined;

/** One validator per process: the document is parsed once. */
export function gmailDiscovery(): DiscoveryValidator {
  shared ??= new DiscoveryValidator();
  return shared;
}
