// Reads settings from a JSON file (MEMGATE_CONFIG) and the environment (which wins).
import fs from 'node:fs';
import { ConfigError } from '../core/errors';
import { ENV_NAMES, configSchema, type Config } from './schema';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let fromFile: Record<string, unknown> = {};
  if (env.MEMGATE_CONFIG) {
    try {
      fromFile = JSON.parse(fs.readFileSync(env.MEMGATE_CONFIG, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`Cannot read config file ${env.MEMGATE_CONFIG}: ${(err as Error).message}`);
    }
  }
  const input: Record<string, unknown> = { ...fromFile };
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const name = ENV_NAMES[key as keyof Config] ?? key;
      return `  ${name}: ${issue.message} (got ${JSON.stringify(input[key])})`;
    });
    throw new ConfigError(`Invalid memgate settings:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError('Invalid memgate settings:\n  MEMGATE_TLS_CERT and MEMGATE_TLS_KEY must be set together');
  }
  return config;
}
