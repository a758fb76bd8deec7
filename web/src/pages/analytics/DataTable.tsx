// A table drawn from its export description (tables.ts), so the screen shows
// exactly the rows and order the CSV and PDF get. Sortable columns have a button
// in their header (keyboard: Tab to it, Enter or Space to sort).
import type { ReactNode } from 'react';
import { displayCell } from '../../export/table';
import type { ScreenTable } from './tables';
import type { RankKey, RankSort } from './transforms';

export interface DataTableProps<Row> {
  table: ScreenTable<Row>;
  testId: string;
  rowKey: (row: Row) => string;
  /** Rows shown, when fewer than the table holds (e.g. the top N). */
  limit?: number;
  sort?: RankSort;
  onSort?: (key: RankKey) => void;
  /** Cell content on screen instead of the text, e.g. a link. */
  render?: Partial<Record<string, (row: Row) => ReactNode>>;
  caption?: string;
}

export function DataTable<Row>({ table, testId, rowKey, limit, sort, onSort, render, caption }: DataTableProps<Row>) {
  const rows = limit === undefined ? table.rows : table.rows.slice(0, limit);
  return (
    <div className="analytics-table-wrap">
      <table className="data-table analytics-table" data-testid={testId}>
        {caption && <caption className="visually-hidden">{caption}</caption>}
        <thead>
          <tr>
            {table.columns.map((column) => {
              const sorted = column.sortKey !== undefined && sort?.key === column.sortKey;
              const ariaSort = sorted ? (sort.direction === 'asc' ? 'ascending' : 'descending') : undefined;
              return (
                <th
                  key={column.id}
                  scope="col"
                  aria-sort={column.sortKey !== undefined ? (ariaSort ?? 'none') : undefined}
                  className={column.align === 'right' ? 'analytics-num' : undefined}
                  data-col={column.id}
                >
                  {column.sortKey !== undefined && onSort ? (
                    <button
                      type="button"
                      className="analytics-sort"
                      data-sort-key={column.sortKey}
                      onClick={() => onSort(column.sortKey!)}
                    >
                      {column.header}
                      <span className="analytics-sort-mark" aria-hidden="true">
                        {sorted ? (sort.direction === 'asc' ? '▲' : '▼') : '↕'}
                      </span>
                    </button>
                  ) : (
                    column.header
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)}>
              {table.columns.map((column) => {
                const custom = render?.[column.id];
                return (
                  <td key={column.id} data-col={column.id} className={column.align === 'right' ? 'analytics-num' : undefined}>
                    {custom ? custom(row) : displayCell(column, row)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
