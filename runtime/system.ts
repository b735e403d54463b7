/**
 * The protected-mode SystemHooks the CPU calls: one object gathering the
 * runtime's segmentation, interrupt, far-transfer, task and I/O-permission
 * helpers, so the machine can hand it to the CPU in one piece.
 */
import type { SystemHooks } from '../src/x86/state.js';
import { loadSegmentProtected } from './descriptors.js';
import { deliverProtected, farReturnProtected, farTransferProtected, ioPermittedProtected, iretProtected } from './protected.js';

export const protectedModeHooks: SystemHooks = {
  loadSegment: loadSegmentProtected,
  deliver: deliverProtected,
  farTransfer: farTransferProtected,
  farReturn: farReturnProtected,
  iret: iretProtected,
  ioPermitted: ioPermittedProtected,
};
