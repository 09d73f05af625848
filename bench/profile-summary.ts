import { Command } from 'commander'
import { summarizeProfile } from './report/cpu-profile'
import { renderProfile } from './report/table'

/**
 * `node dist/bench/profile-summary.js <file.cpuprofile>...`: the self-time tables the bench
 * prints for its profiled children, for any V8 profile, e.g. one of the bench process itself
 * taken with `node --cpu-prof dist/bench/run.js --only replay`.
 */
function main(argv: string[]): void {
  const program = new Command('profile-summary')
    .description('top self-time functions, areas and src/ owners of V8 .cpuprofile files')
    .argument('<files...>', '.cpuprofile files written by node --cpu-prof')
    .parse(argv)
  for (const file of program.args) {
    process.stdout.write(`${renderProfile(summarizeProfile(file, 'as recorded'))}\n\n`)
  }
}

main(process.argv)
