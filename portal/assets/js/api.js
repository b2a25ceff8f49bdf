// Reading this node's JSON API. Every failure becomes an Error whose message says what failed.

/** An error from the node: `status` and the node's `{error, detail}`. */
export class ApiError extends Error {
  constructor(status, body, path) {
    super(body?.detail || body?.error || `HTTP ${status} for ${path}`);
    this.status = status;
    this.code = body?.error;
  }
}

/** GET `path` as JSON. */
export async function getJson(path) {
  let response;
  try {
    response = await fetch(path, { headers: { accept: 'application/json' } });
  } catch (e) {
    throw new ApiError(0, { error: 'fetch_failed', detail: String(e.message || e) }, path);
  }
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  if (!response.ok) throw new ApiError(response.status, body, path);
  return body;
}

let membersPromise = null;

/** The genesis members with their display names: {network, network_id, members: Map}. */
export function members() {
  membersPromise ??= getJson('/v1/members').then((body) => ({
    ...body,
    members: new Map(body.members.map((m) => [m.id, m])),
  }));
  return membersPromise;
}

/** The records of a query (`params`), following cursors up to `max` records: {items, more};
 *  `more` when it stopped at `max` before the node said the answer was complete. */
export async function queryUpTo(params, max) {
  const items = [];
  let cursor = null;
  for (;;) {
    const q = new URLSearchParams(params);
    q.set('limit', String(Math.min(1000, max - items.length)));
    if (cursor) q.set('cursor', cursor);
    const page = await getJson(`/v1/records?${q}`);
    items.push(...page.items);
    if (page.end) return { items, more: false };
    if (items.length >= max) return { items, more: true };
    cursor = page.next;
  }
}

/** Every record of a query (`params`), following cursors up to `max` records. */
export async function queryAll(params, max = 1000) {
  return (await queryUpTo(params, max)).items;
}

/** The lights of each member and the findings, from the auditor's report when this node is an
 *  auditor, else from the finding records this node holds: {report|null, findings, lights}. */
export async function auditView() {
  const info = await members();
  try {
    if (!info.auditor) throw Object.assign(new Error('not an auditor'), { status: 404 });
    const report = await getJson('/v1/audit');
    const lights = new Map(report.lights.map((l) => [l.member, l.light]));
    return { report, findings: report.findings, lights };
  } catch (e) {
    if (e.status !== 404 && e.status !== 503) throw e;
    const records = await queryAll({ kind: 'finding' });
    const answers = await queryAll({ kind: 'rectification' });
    const findings = records.filter((r) => !r.current.voided).map((r) => {
      const f = r.current.record;
      const answer = answers.map((a) => a.current.record).find((a) => a.finding?.rid === r.rid);
      return {
        rule: f.rule, severity: f.severity, summary: f.summary, subjects: f.subjects ?? [],
        member: f.subjects?.[0]?.log, program: f.program, dates: [],
        published: { log: r.log, rid: r.rid, leaf: r.leaf },
        answer: answer ? { status: answer.status, rectification: { rid: answer.rid } } : null,
      };
    });
    const lights = new Map();
    const rank = { green: 0, yellow: 1, red: 2 };
    for (const f of findings) {
      if (f.answer?.status === 'done') continue;
      const now = lights.get(f.member) ?? 'green';
      if ((rank[f.severity] ?? 0) > rank[now]) lights.set(f.member, f.severity);
    }
    return { report: null, pending: e.status === 503, findings, lights, derived: true };
  }
}
