import type { MailLanguage } from '@clover/model';

/** The words of an incident mail in one language (templates.ts); names and ids are filled in. */
export interface MailWords {
  jobFailed: (name: string) => string;
  nodeDead: (kind: string, id: string) => string;
  kinds: Record<string, string>;
  facts: {
    job: string;
    run: string;
    node: string;
    attempt: string;
    when: string;
    host: string;
    pid: string;
    endpoint: string;
    declaredDead: string;
    lastBeat: string;
    silentFor: string;
    why: string;
    wasRunning: string;
    open: string;
  };
  silent: string;
  sessionEnded: string;
  nothing: string;
  unknown: string;
  openedOne: string;
  openedMany: (n: number) => string;
  incidents: (n: number) => string;
  recovered: string;
  recoveredMany: (n: number) => string;
  jobBack: (name: string, span: string) => string;
  nodeBack: (id: string, span: string) => string;
  openJob: string;
  openIncidents: string;
}

const en: MailWords = {
  jobFailed: (name) => `job "${name}" failed`,
  nodeDead: (kind, id) => `${kind} ${id} is dead`,
  kinds: { servers: 'server', clients: 'client', monitors: 'monitor', node: 'node' },
  facts: {
    job: 'job',
    run: 'run',
    node: 'node',
    attempt: 'attempt',
    when: 'when',
    host: 'host',
    pid: 'pid',
    endpoint: 'endpoint',
    declaredDead: 'declared dead',
    lastBeat: 'last beat',
    silentFor: 'silent for',
    why: 'why',
    wasRunning: 'was running',
    open: 'open',
  },
  silent: 'heartbeat stopped advancing (process hung?)',
  sessionEnded: 'its ZooKeeper session ended',
  nothing: 'nothing',
  unknown: 'unknown',
  openedOne: 'clover opened an incident.',
  openedMany: (n) => `clover opened ${n} incidents at about the same time.`,
  incidents: (n) => `${n} incidents`,
  recovered: 'recovered',
  recoveredMany: (n) => `${n} recovered`,
  jobBack: (name, span) => `job "${name}" succeeded again (failing for ${span}).`,
  nodeBack: (id, span) => `${id} is back (down ${span}).`,
  openJob: 'Open the job in the clover console',
  openIncidents: 'Open the incidents in the clover console',
};

const zh: MailWords = {
  jobFailed: (name) => `任务“${name}”失败`,
  nodeDead: (kind, id) => `${kind} ${id} 已失联`,
  kinds: { servers: '调度服务器', clients: '执行器', monitors: '监控进程', node: '节点' },
  facts: {
    job: '任务',
    run: '运行',
    node: '节点',
    attempt: '尝试次数',
    when: '时间',
    host: '主机',
    pid: '进程号',
    endpoint: '端点',
    declaredDead: '判定失联',
    lastBeat: '最后心跳',
    silentFor: '静默时长',
    why: '原因',
    wasRunning: '正在运行',
    open: '查看',
  },
  silent: '心跳停止更新（进程挂起？）',
  sessionEnded: '其 ZooKeeper 会话已结束',
  nothing: '无',
  unknown: '未知',
  openedOne: 'clover 新建了一个事件。',
  openedMany: (n) => `clover 几乎同时新建了 ${n} 个事件。`,
  incidents: (n) => `${n} 个事件`,
  recovered: '已恢复',
  recoveredMany: (n) => `${n} 个已恢复`,
  jobBack: (name, span) => `任务“${name}”已再次成功（此前失败持续 ${span}）。`,
  nodeBack: (id, span) => `${id} 已恢复（中断 ${span}）。`,
  openJob: '在 clover 控制台中查看该任务',
  openIncidents: '在 clover 控制台中查看事件',
};

/** The words of `language` (default English). */
export function mailWords(language: MailLanguage | undefined): MailWords {
  return language === 'zh' ? zh : en;
}
