const formats = new Map<string, Intl.NumberFormat>();

/** 4900, "EUR" -> "€49.00". */
export function money(cents: number, currency: string): string {
  let format = formats.get(currency);
  if (!format) {
    format = new Intl.NumberFormat("en-IE", { style: "currency", currency });
    formats.set(currency, format);
  }
  return format.format(cents / 100);
}

export function when(iso: string): string {
  return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

/** The catalog query in the page's address, so that back, reload and links keep it. */
export interface CatalogQuery {
  q: string;
  category: string;
  page: number;
}

export function parseCatalogQuery(search: string): CatalogQuery {
  const params = new URLSearchParams(search);
  const page = Number.parseInt(params.get("page") ?? "1", 10);
  return {
    q: params.get("q") ?? "",
    category: params.get("category") ?? "",
    page: Number.isFinite(page) && page >= 1 ? page : 1,
  };
}

export function catalogSearch(query: CatalogQuery): string {
  const params = new URLSearchParams();
  if (query.q) params.set("q", query.q);
  if (query.category) params.set("category", query.category);
  if (query.page > 1) params.set("page", String(query.page));
  const text = params.toString();
  return text ? `?${text}` : "";
}

export function pageCount(total: number, pageSize: number): number {
  return Math.max(1, Math.ceil(total / pageSize));
}
