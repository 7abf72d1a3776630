import { PeerStore } from '../../src/peer/peer-store.js';
import { storeContract } from './store-contract.js';

// A broadcast peer embeds the repeater core on its own store: it owes the core the same promises.
// The action flag (/me) is not in the peer store or the peer protocol yet (issue 11: left to broadcast mode's owners).
storeContract('PeerStore (broadcast mode, in memory)', async () => new PeerStore(':memory:'), undefined, { accounts: false, actions: false });
