/** The package ships no types; this is the part the metrics tests use. */
declare module 'parse-prometheus-text-format' {
  export interface PrometheusFamily {
    readonly name: string;
    readonly help: string;
    readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    readonly metrics: readonly { readonly value?: string; readonly labels?: Readonly<Record<string, string>>; readonly buckets?: Readonly<Record<string, string>>; readonly count?: string; readonly sum?: string }[];
  }
  export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
