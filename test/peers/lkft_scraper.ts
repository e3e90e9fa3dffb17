// A line scraper in the manner of LKFT's legacy kselftest parse-output.py
// (Linaro test-definitions automated/linux/kselftest, before its tappy-based
// rewrite), written from the behaviour described in
// reference/peers-and-style.md §1.5: a `# selftests: ` line names the current
// test, `^.*?not ok \d{1,5} ` is a failure and `^.*?ok \d{1,5} ` a pass (a
// skip when the line holds `# SKIP`), names are slugified with
// [^A-Za-z0-9_-]+ -> _. The leading `^.*?` means result lines of a test's own
// (prefixed) TAP count too, named after the current test. A failure's
// directive (`# exit=1`, `# TIMEOUT ...`) is dropped from its name; a pass
// keeps everything, so `ok N x # XFAIL` is a pass named `..._XFAIL`.

export type ScrapedResult = 'pass' | 'fail' | 'skip';

export interface Scraped {
  name: string;
  result: ScrapedResult;
}

export function slugify(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '');
}

const HEADER = '# selftests: ';
const NOT_OK = /^.*?not ok \d{1,5} (.*)$/;
const OK = /^.*?ok \d{1,5} (.*)$/;
const RUNNER_RESULT = 'selftests_';

export function scrape(text: string): Scraped[] {
  const out: Scraped[] = [];
  let current = '';
  const name = (desc: string): string => {
    const slug = slugify(desc);
    // The runner's own result line repeats `selftests: DIR: NAME`: that is the
    // test's name. Any other result belongs to the current test.
    return slug.startsWith(RUNNER_RESULT) ? slug.slice(RUNNER_RESULT.length) : `${current}_${slug}`;
  };
  for (const line of text.split('\n')) {
    const h = line.indexOf(HEADER);
    if (h >= 0) {
      current = slugify(line.slice(h + HEADER.length));
      continue;
    }
    const nok = NOT_OK.exec(line);
    if (nok) {
      out.push({ name: name(nok[1]!.replace(/#.*$/, '')), result: 'fail' });
      continue;
    }
    const ok = OK.exec(line);
    if (ok) {
      const desc = ok[1]!;
      if (desc.includes('# SKIP')) out.push({ name: name(desc.replace('# SKIP', '')), result: 'skip' });
      else out.push({ name: name(desc), result: 'pass' });
    }
  }
  return out;
}
