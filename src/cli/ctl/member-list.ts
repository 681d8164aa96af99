/** `ctl member list`: the members as the replicated records hold them. */
import { Option, type Command } from 'commander';
import type { MemberJson } from '../../api/operator-answers.js';
import { DUPLICATE_MARK } from '../controllers-table.js';
import { plainTable } from '../plain-table.js';
import type { Session } from './context.js';
import { jsonText, yamlText } from '../printable.js';

const FORMATS = ['table', 'json', 'yaml'] as const;
type Format = (typeof FORMATS)[number];

function promotion(m: MemberJson): string {
  if (m.role === 'voter') return '-';
  return m.autoPromote ? 'auto' : 'manual';
}

export function renderMemberList(members: readonly MemberJson[], format: Format): string {
  const rows = members.map((m) => ({ id: m.id, address: m.address, role: m.role, leader: m.leader, status: m.status, autoPromote: m.autoPromote, duplicateProcess: m.duplicateProcess }));
  switch (format) {
    case 'json':
      return `${jsonText(rows, 2)}\n`;
    case 'yaml':
      return yamlText(rows);
    case 'table':
      return plainTable(
        ['ID', 'ADDRESS', 'ROLE', 'LEADER', 'STATUS', 'PROMOTION'],
        members.map((m) => [m.id, m.address, m.role, m.leader ? 'yes' : 'no', `${m.status}${m.duplicateProcess ? DUPLICATE_MARK : ''}`, promotion(m)]),
      );
    default: {
      const never: never = format;
      return never;
    }
  }
}

export function registerMemberList(member: Command, session: Session): void {
  member
    .command('list')
    .description('every member: address, voter or learner, leader, committed status, and how a learner gets promoted')
    .addOption(new Option('-o, --output <format>', 'output format').choices(FORMATS).default('table'))
    .option('--serializable', "answer from the node's own records without a quorum round", false)
    .action(async (opts: { readonly output: Format; readonly serializable: boolean }) => {
      const list = await session.operator().memberList({ serializable: opts.serializable });
      session.io.out(renderMemberList(list.members, opts.output));
    });
}
