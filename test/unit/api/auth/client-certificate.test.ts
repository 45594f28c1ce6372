import type { PeerCertificate } from 'node:tls';
import { identityFromCertificate } from '../../../../src/api/auth/client-certificate.js';

// The subject → identity mapping on its own (the subject as node:tls gives
// it); real certificates through real TLS are in client-ca.test.ts.

const cert = (subject: Record<string, string | string[]>): PeerCertificate => ({ subject }) as unknown as PeerCertificate;

test('the CN is the user and every O a group, each with the default prefix wutong-backup-client:', () => {
  expect(identityFromCertificate(cert({ CN: 'wutong-console', O: ['wutong:consoles', 'tenant-a-admins'] }))).toEqual({
    identity: { username: 'wutong-backup-client:wutong-console', groups: ['wutong-backup-client:wutong:consoles', 'wutong-backup-client:tenant-a-admins'], via: 'client-certificate' },
    droppedGroups: [],
  });
});

test('the user and group prefixes are separate, and either may be empty', () => {
  expect(identityFromCertificate(cert({ CN: 'console', O: 'consoles' }), { user: 'cert:', group: '' })).toMatchObject({ identity: { username: 'cert:console', groups: ['consoles'] } });
  expect(identityFromCertificate(cert({ CN: 'console', O: 'consoles' }), { user: '', group: 'cert-group:' })).toMatchObject({ identity: { username: 'console', groups: ['cert-group:consoles'] } });
});

test('with several CNs the last one counts, as in Go; an empty O is no group', () => {
  expect(identityFromCertificate(cert({ CN: ['first', 'last'], O: ['', 'ops'] }), { user: '', group: '' })).toMatchObject({ identity: { username: 'last', groups: ['ops'] } });
});

test('no CN: nobody', () => {
  expect(identityFromCertificate(cert({ O: 'consoles' }))).toEqual({ problem: 'the client certificate has no Common Name (CN), so it names no user' });
});

test.each([
  ['empty prefixes, CN system:admin', { user: '', group: '' }, 'system:admin', 'system:admin'],
  ['a prefix that completes "system:" with the CN', { user: 'sys', group: 'sys' }, 'tem:kube-controller-manager', 'system:kube-controller-manager'],
])('%s: refused, never a system: user', (_what, prefixes, commonName, username) => {
  expect(identityFromCertificate(cert({ CN: commonName }), prefixes)).toEqual({ problem: `the client certificate's Common Name would make the user "${username}": a certificate may never name a system: user` });
});

test('an O that would be a system: group is dropped (and reported); the others stay', () => {
  expect(identityFromCertificate(cert({ CN: 'ops-bot', O: ['system:masters', 'ops', 'system:nodes'] }), { user: 'bots:', group: '' })).toEqual({
    identity: { username: 'bots:ops-bot', groups: ['ops'], via: 'client-certificate' },
    droppedGroups: ['system:masters', 'system:nodes'],
  });
  expect(identityFromCertificate(cert({ CN: 'ops-bot', O: 'tem:masters' }), { user: 'bots:', group: 'sys' })).toMatchObject({ identity: { groups: [] }, droppedGroups: ['system:masters'] });
});
