import type { Command } from '../command.ts';
import { acmeCommand } from './acme.ts';
import { applyResultsCommand } from './apply-results.ts';
import { checkWorkflowsCommand } from './check-workflows.ts';
import { dnsRecordsCommand } from './dns-records.ts';
import { importOttrCommand } from './import-ottr.ts';
import { onboardCommand } from './onboard.ts';
import { planCommand } from './plan.ts';
import { rotateCommand } from './rotate.ts';
import { secretsCommand } from './secrets.ts';
import { showCommand } from './show.ts';
import { statusCommand } from './status.ts';
import { syncCommand } from './sync.ts';
import { validateCommand } from './validate.ts';

/** Every sub-command, in the order `ottr --help` lists them. */
export const commands: Command[] = [
  validateCommand,
  planCommand,
  rotateCommand,
  applyResultsCommand,
  showCommand,
  statusCommand,
  dnsRecordsCommand,
  secretsCommand,
  checkWorkflowsCommand,
  importOttrCommand,
  onboardCommand,
  syncCommand,
  acmeCommand,
];
