import { describeStorageConformance, temporariesOnDisk } from '../storage/testing/conformance.js';
import { startTestServer } from './testing/test-server.js';

/** The HTTP driver and the server together, over a local-directory backend, with an admin token. */
describeStorageConformance(
  'repository server (HTTP driver, admin token, local backend)',
  async () => {
    const t = await startTestServer([{ name: 'admin', role: 'admin' }]);
    return { storage: t.client('admin'), cleanup: () => t.stop(), temporaries: temporariesOnDisk(t.root) };
  },
  { writesTemporaries: true },
);
