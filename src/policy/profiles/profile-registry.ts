import { elasticsearchProfile } from './elasticsearch-profile.js';
import { etcdProfile } from './etcd-profile.js';
import { fsfreezeProfile } from './fsfreeze-profile.js';
import type { HookProfile } from './hook-profile.js';
import { mongodbProfile } from './mongodb-profile.js';
import { mariadbProfile, mysqlProfile } from './mysql-family-profiles.js';
import { postgresqlProfile } from './postgresql-profile.js';
import { redisProfile } from './redis-profile.js';

/** Every built-in profile, in the order autoProfiles tries their images. */
export const PROFILES: readonly HookProfile[] = [
  mysqlProfile,
  mariadbProfile,
  postgresqlProfile,
  redisProfile,
  mongodbProfile,
  etcdProfile,
  elasticsearchProfile,
  fsfreezeProfile,
];

export const PROFILE_NAMES: readonly string[] = PROFILES.map((p) => p.name);

export function findProfile(name: string): HookProfile | undefined {
  return PROFILES.find((p) => p.name === name);
}
