import { LocalBus } from '../../src/bus/local.js';
import { busContract } from './bus-contract.js';

busContract('in-process', async () => new LocalBus());
