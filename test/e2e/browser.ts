import puppeteer, { type Browser, type Page } from 'puppeteer-core'

/** Debian's chromium, the browser the report is read in. */
export const CHROMIUM = '/usr/bin/chromium'

/** A page loaded in headless chromium, with every request that failed and every console error on the way. */
export interface LoadedPage {
  readonly page: Page
  readonly failedRequests: string[]
  readonly consoleErrors: string[]
  close(): Promise<void>
}

/** Opens `url` in a fresh headless chromium (no network beyond the file itself is expected). */
export async function openInBrowser(url: string): Promise<LoadedPage> {
  const browser: Browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a test machine has no user namespace sandbox to offer chromium.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
  })
  const page = await browser.newPage()
  const failedRequests: string[] = []
  const consoleErrors: string[] = []
  page.on('requestfailed', (r) => failedRequests.push(`${r.url()}: ${r.failure()?.errorText ?? '?'}`))
  page.on('request', (r) => {
    if (r.url() !== url) failedRequests.push(`unexpected request ${r.url()}`)
  })
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text())
  })
  page.on('pageerror', (e) => consoleErrors.push(String(e)))
  await page.goto(url, { waitUntil: 'load', timeout: 30_000 })
  return { page, failedRequests, consoleErrors, close: () => browser.close() }
}
