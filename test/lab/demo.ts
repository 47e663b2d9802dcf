// `npm run demo`: one whole scheduled run of rotate.yml in the lab, on this machine, shown as it goes.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { LAB_NOW, runCycle } from './cycle.ts';
import { type FullLab, LAB_OWNER, LAB_REPO, startFullLab } from './full-lab.ts';
import { installAdvice, missingPackages } from './preflight.ts';

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s`;
const say = (line: string) => process.stdout.write(`${elapsed()}  ${line}\n`);

async function demo(): Promise<number> {
  const missing = missingPackages();
  if (missing.length > 0) {
    process.stderr.write(installAdvice(missing));
    return 1;
  }
  // sshd started by root insists on its privilege-separation directory; Debian's ssh service would make it.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });
  let lab: FullLab | undefined;
  const stopAll = async (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping every lab process…\n`);
    await lab?.stop();
    process.exit(130);
  };
  process.on('SIGINT', () => void stopAll('SIGINT'));
  process.on('SIGTERM', () => void stopAll('SIGTERM'));
  try {
    lab = await startFullLab({ log: say });
    say(`lab ready: ${lab.devices.length} devices, origin ${lab.origin}`);
    for (const d of lab.devices)
      say(
        `  ${d.system_name.padEnd(16)} ${d.platform.padEnd(10)} https://${d.endpoint.servername}:${d.endpoint.port}`,
      );
    say(`scheduled run at the lab clock ${LAB_NOW}`);
    const cycle = await runCycle(lab, { now: LAB_NOW, progress: say });
    process.stdout.write("\n──── rotate.yml: the run's jobs as GitHub lists them ────\n");
    for (const job of cycle.listing)
      process.stdout.write(
        `${job.conclusion.padEnd(9)} ${job.name}${job.runner ? ` on ${job.runner}` : ''}${job.ms === undefined ? '' : ` (${(job.ms / 1000).toFixed(1)} s)`}\n`,
      );
    const report = cycle.report;
    const number = Number(report?.outputs['pull-request-number'] ?? 0);
    const pull = lab.github.pulls.find((p) => p.number === number);
    process.stdout.write(
      `\n──── pull request #${number}: ${pull?.title ?? '(none)'} ────\n${pull?.body ?? ''}\n`,
    );
    if (pull) {
      const diff = execFileSync('git', ['diff', '--stat', '-p', `main...${pull.head}`, '--', 'inventory'], {
        cwd: lab.origin,
        encoding: 'utf8',
      });
      process.stdout.write(`\n──── git diff main...${pull.head} -- inventory ────\n${diff}\n`);
    }
    const issues = lab.github.issues.filter((i) => i.title.startsWith('ottr:'));
    for (const i of issues) process.stdout.write(`issue #${i.number} (${i.state}): ${i.title}\n`);
    if (lab.slack.received.length > 0)
      process.stdout.write(`Slack: ${lab.slack.received.length} message(s)\n`);

    const due = JSON.parse(cycle.plan.outputs.matrix ?? '{"include":[]}').include.flatMap(
      (e: { devices?: string[] }) => e.devices ?? [],
    ) as string[];
    let ok = 0;
    process.stdout.write('\n──── does every due device serve its new certificate? ────\n');
    for (const name of due) {
      const result = cycle.results.find((r) => r.system_name === name);
      const served = await lab.servedSerial(name);
      const good = result?.status === 'rotated' && served === result.certificate?.serial;
      if (good) ok++;
      process.stdout.write(
        `${good ? 'yes' : 'NO '}  ${name.padEnd(16)} ${result?.status ?? 'no result'}, serves ${served ?? 'nothing'}\n`,
      );
    }
    process.stdout.write(
      `\n${ok} of ${due.length} due device(s) rotated and verified in ${((Date.now() - started) / 1000).toFixed(1)} s` +
        ` (${LAB_OWNER}/${LAB_REPO}, ${cycle.jobs.length} rotate job(s))\n`,
    );
    return ok === due.length && due.length > 0 ? 0 : 1;
  } finally {
    if (!interrupted) {
      say('stopping every lab process');
      await lab?.stop();
    }
  }
}

/** Set on Ctrl-C: the signal handler stops the lab and exits 130; whatever the interrupted run does meanwhile is moot. */
let interrupted = false;

demo().then(
  (code) => {
    if (!interrupted) process.exit(code);
  },
  (error: Error) => {
    if (interrupted) return;
    process.stderr.write(`demo failed: ${error.message}\n`);
    process.exit(1);
  },
);
