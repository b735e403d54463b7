/** vitest setup (vitest.config.ts setupFiles): every generated function of the test run passes the safety check. */
import { installSafetyCheck } from './safety.js';

installSafetyCheck();
