import { useState } from 'preact/hooks'
import type { Content } from '../domain/content/schema'
import {
  buildContent,
  COMPOSER_FORMATS,
  FIELD_LABELS,
  FORMAT_FIELDS,
  type ComposerFormat,
  type Draft,
} from './compose'

/**
 * Writes a message in any content format: a format menu, that format's fields, Send. The send
 * itself is the page's (`onSend`); the composer only shapes the content.
 */
export function Composer(props: { onSend(content: Content): void; disabled?: string }) {
  const [format, setFormat] = useState<ComposerFormat>('text')
  const [draft, setDraft] = useState<Draft>({})
  const [problem, setProblem] = useState<string | null>(null)
  const { required, optional } = FORMAT_FIELDS[format]

  function submit(event: Event) {
    event.preventDefault()
    const built = buildContent(format, draft)
    if ('problem' in built) {
      setProblem(built.problem)
      return
    }
    props.onSend(built.content)
    setDraft({})
    setProblem(null)
  }

  const field = (name: keyof Draft, isRequired: boolean) => {
    const common = {
      name,
      value: draft[name] ?? '',
      placeholder: FIELD_LABELS[name] + (isRequired ? '' : ' (optional)'),
      'aria-label': FIELD_LABELS[name],
      onInput: (e: Event) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value }),
    }
    return name === 'text' && format === 'text' ? (
      <textarea
        key={name}
        rows={2}
        {...common}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey) submit(e)
        }}
      />
    ) : (
      <input key={name} type="text" {...common} />
    )
  }

  return (
    <form class="composer" onSubmit={submit}>
      <select
        name="format"
        aria-label="Format"
        value={format}
        onChange={(e) => {
          setFormat((e.target as HTMLSelectElement).value as ComposerFormat)
          setProblem(null)
        }}
      >
        {Object.entries(COMPOSER_FORMATS).map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      <div class={`fields fields-${format}`}>
        {required.map((name) => field(name, true))}
        {optional.map((name) => field(name, false))}
      </div>
      <button
        type="submit"
        class="send"
        disabled={props.disabled !== undefined}
        title={props.disabled}
      >
        Send
      </button>
      {problem && <p class="problem">{problem}</p>}
    </form>
  )
}
