/**
 * Runs a procedure of docs/operate.md word by word against a ProcessCluster. A procedure is the
 * indented block between `<!-- procedure: NAME -->` and `<!-- end procedure -->`; its lines are
 * the commands an operator types on deploy.md's hosts, and this maps each one onto the test
 * cluster: hosts ctl-a, ctl-b, ctl-c are c1, c2, c3; deploy.md's paths are the cluster's temp
 * dir; `systemctl` runs the unit's command line. A line it does not know fails the test: the
 * doc cannot drift into commands nobody ran.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CONTROLLER_JS, type CtlResult, type ProcessCluster } from './process-cluster.js';
import { waitFor } from './wait-for.js';

export interface ProcedureStep {
  /** The line as written in the doc. */
  readonly line: string;
  /** The host it runs on ('operator' for an operator machine). */
  readonly host: string;
}

const HOSTS: Readonly<Record<string, string>> = { 'ctl-a': 'c1', 'ctl-b': 'c2', 'ctl-c': 'c3' };
const ADDRESSES: Readonly<Record<string, string>> = { '10.0.0.11:7101': 'c1', '10.0.0.12:7101': 'c2', '10.0.0.13:7101': 'c3' };

/** The steps of procedure `name` in `doc`, each with the host its `# on ...` comment named. */
export function procedureSteps(doc: string, name: string): ProcedureStep[] {
  const start = doc.indexOf(`<!-- procedure: ${name} -->`);
  const end = doc.indexOf('<!-- end procedure -->', start);
  if (start < 0 || end < 0) throw new Error(`no procedure "${name}" in the doc`);
  const steps: ProcedureStep[] = [];
  let host = 'operator';
  for (const raw of doc.slice(start, end).split('\n').slice(1)) {
    const line = raw.trim();
    if (line === '') continue;
    if (!raw.startsWith('    ')) throw new Error(`procedure "${name}": expected an indented command, found ${JSON.stringify(raw)}`);
    const on = /^# on (ctl-[abc])'s host\b/.exec(line);
    if (on) host = HOSTS[on[1]!]!;
    else if (/^# on an operator machine\b/.test(line)) host = 'operator';
    else if (line.startsWith('#')) throw new Error(`procedure "${name}": a comment must say where the next lines run: ${line}`);
    else steps.push({ line, host });
  }
  return steps;
}

export interface StepResult {
  readonly step: ProcedureStep;
  readonly result: CtlResult | null;
}

/** Runs procedure steps against the cluster; each command must succeed (exit 0). */
export class ProcedureRunner {
  /** CONTROLLER_FLAGS of each host's /etc/controller/controller.env. */
  private readonly flags = new Map<string, string[]>();

  constructor(
    private readonly cluster: ProcessCluster,
    /** Files a procedure names outside deploy.md's directories, e.g. a backup. */
    private readonly files: Readonly<Record<string, string>> = {},
  ) {}

  /** deploy.md's paths and addresses to the cluster's. */
  translate(word: string): string {
    if (word === '/etc/controller/cluster.yaml') return this.cluster.configFile;
    const file = this.files[word];
    if (file !== undefined) return file;
    const address = ADDRESSES[word];
    if (address !== undefined) return this.cluster.addresses.get(address)!;
    const dataDir = /^\/var\/lib\/controller\/(ctl-[abc])(.*)$/.exec(word);
    if (dataDir) return path.join(this.cluster.dir, 'data', `${HOSTS[dataDir[1]!]!}${dataDir[2]!}`);
    return HOSTS[word] ?? word;
  }

  async run(step: ProcedureStep): Promise<StepResult> {
    const [cmd = '', ...args] = step.line.split(/\s+/);
    const onHost = (): string => {
      if (step.host === 'operator') throw new Error(`"${step.line}" must run on a controller's host`);
      return step.host;
    };
    switch (cmd) {
      case 'ctl': {
        const result = await this.cluster.ctl(args.map((w) => this.translate(w)), this.cluster.endpoints(this.running()), 120_000);
        this.expectOk(step, result);
        return { step, result };
      }
      case 'controller': {
        const result = await this.controller(args.map((w) => this.translate(w)));
        this.expectOk(step, result);
        return { step, result };
      }
      case 'systemctl': {
        const host = onHost();
        if (args.join(' ') === 'stop controller') {
          if (this.cluster.procs.has(host)) await this.cluster.kill(host, 'SIGTERM');
        } else if (args.join(' ') === 'start controller') {
          this.cluster.start(host, this.flags.get(host) ?? []);
          // An operator's next command comes seconds later; here, once the process answers.
          await waitFor(async () => (await this.cluster.status(host)) !== null, `${host} to answer after systemctl start`, 20_000);
        } else throw new Error(`unknown systemctl step: ${step.line}`);
        return { step, result: null };
      }
      case 'echo': {
        const m = /^echo CONTROLLER_FLAGS=(\S+) > \/etc\/controller\/controller\.env$/.exec(step.line);
        if (!m) throw new Error(`unknown echo step: ${step.line}`);
        this.flags.set(onHost(), m[1]!.split(','));
        return { step, result: null };
      }
      case 'mv': {
        if (args.length !== 2) throw new Error(`unknown mv step: ${step.line}`);
        onHost();
        fs.renameSync(this.translate(args[0]!), this.translate(args[1]!));
        return { step, result: null };
      }
      case 'chown':
        onHost(); // the test runs as one user: ownership is already right
        return { step, result: null };
      default:
        throw new Error(`the doc's step "${step.line}" is not one the test knows how to run`);
    }
  }

  /** Ids of the controllers running now: ctl is pointed at them, as CTL_ENDPOINTS would be. */
  private running(): string[] {
    const ids = this.cluster.ids.filter((id) => this.cluster.procs.has(id));
    return ids.length > 0 ? ids : this.cluster.ids;
  }

  private expectOk(step: ProcedureStep, result: CtlResult): void {
    if (result.code !== 0) throw new Error(`"${step.line}" exited ${result.code}: ${result.stderr.trim()}`);
  }

  private controller(args: readonly string[]): Promise<CtlResult> {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [CONTROLLER_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        p.kill('SIGKILL');
        reject(new Error(`controller ${args.join(' ')} did not finish within 60s`));
      }, 60_000);
      p.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  }
}
