import { rename, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { htmlReport } from '../output/html-report.ts'
import { junitXml } from '../output/junit.ts'
import { Transcript } from '../output/transcript.ts'

/** The report files a command was asked for (`--junit`, `--report`). */
export interface ReportFiles {
  readonly junit?: string
  readonly report?: string
}

/** A transcript to collect the run into, when any report file is wanted. */
export function transcriptFor(files: ReportFiles): Transcript | undefined {
  return files.junit !== undefined || files.report !== undefined ? new Transcript() : undefined
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text)
  await rename(`${path}.tmp`, path)
}

/** Writes each report file asked for, beside and renamed into place, so nothing reads half of one. */
export async function writeReportFiles(t: Transcript | undefined, files: ReportFiles, title: string): Promise<void> {
  if (!t) return
  if (files.junit !== undefined) await writeAtomically(files.junit, junitXml(t))
  if (files.report !== undefined) await writeAtomically(files.report, htmlReport(t, `havn ${t.mode}: ${basename(title)}`))
}
