// A record page served through a tampering proxy (tests/tests/system/portal.rs) that alters one
// response — the entry, a proof tile, the checkpoint or a cosignature — must say "not
// verified" with the reason, never "verified".
import { config, launch, freshContext, watchedPage, settled, verdict, step } from './lib.mjs';

const launched = await launch();
let failed = 0;
for (const [kind, base] of Object.entries(config.tamper ?? {})) {
  const ok = await step(`tampered ${kind}`, async () => {
    const context = await freshContext(launched, { lang: 'en' });
    const { page } = await watchedPage(context);
    await page.goto(`${base}/record/${config.record}`);
    await settled(page);
    const v = await verdict(page, '#verify');
    const red = v.checks.filter((c) => !c.ok);
    if (v.verdict !== 'not-verified' || !red.length || !/^✗ Not verified: /.test(v.banner)) {
      throw new Error(`the page did not say "not verified": ${v.verdict} ${v.banner} ${JSON.stringify(v.checks)}`);
    }
    const visible = await page.isVisible('#verify .banner.bad');
    if (!visible) throw new Error('the failure is not shown');
    await context.close();
    return `${v.banner} [failed: ${red.map((c) => c.id).join(', ')}]`;
  });
  if (!ok) failed += 1;
}
await launched.close();
console.log(failed ? `${failed} failed` : 'all passed');
process.exit(failed ? 1 : 0);
