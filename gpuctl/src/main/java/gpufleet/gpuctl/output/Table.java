package gpufleet.gpuctl.output;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/** Rows printed as kubectl prints them: upper-case headers, columns aligned with three spaces between. */
public final class Table {
    private static final String NONE = "<none>";

    private final List<Column> columns;
    private final List<List<Object>> rows = new ArrayList<>();

    private Table(List<Column> columns) {
        this.columns = columns;
    }

    /** The columns for this output: wide ones only with {@code wide}. */
    public static Table of(List<Column> all, boolean wide) {
        return new Table(all.stream().filter(c -> wide || !c.wide()).toList());
    }

    public Table add(JsonNode item) {
        rows.add(columns.stream().map(c -> c.value().apply(item)).toList());
        return this;
    }

    public Table addAll(Iterable<JsonNode> items) {
        items.forEach(this::add);
        return this;
    }

    /** Sorts by the column with this header (any case); ages sort youngest first, numbers by value. */
    public Table sortBy(String header) {
        int i = index(header);
        if (i < 0) {
            throw new IllegalArgumentException("no column " + header + "; the columns are "
                    + String.join(", ", columns.stream().map(Column::header).toList()));
        }
        Comparator<Object> byValue = Comparator.nullsLast((a, b) -> compare(a, b));
        rows.sort(Comparator.comparing(r -> r.get(i), byValue));
        return this;
    }

    /** Sorts by a column, largest first (top's order). */
    public Table sortDescending(String header) {
        sortBy(header);
        int i = index(header);
        List<List<Object>> present = new ArrayList<>(rows.stream().filter(r -> r.get(i) != null).toList());
        Collections.reverse(present);
        present.addAll(rows.stream().filter(r -> r.get(i) == null).toList());
        rows.clear();
        rows.addAll(present);
        return this;
    }

    private int index(String header) {
        for (int i = 0; i < columns.size(); i++) {
            if (columns.get(i).header().equalsIgnoreCase(header)) {
                return i;
            }
        }
        return -1;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static int compare(Object a, Object b) {
        if (a instanceof Instant x && b instanceof Instant y) {
            return y.compareTo(x);
        }
        if (a.getClass() == b.getClass() && a instanceof Comparable c) {
            return c.compareTo(b);
        }
        return a.toString().compareTo(b.toString());
    }

    public void print(PrintWriter out, Instant now) {
        List<List<String>> text = new ArrayList<>();
        text.add(columns.stream().map(c -> c.header().toUpperCase(Locale.ROOT)).toList());
        for (List<Object> r : rows) {
            text.add(r.stream().map(v -> cell(v, now)).toList());
        }
        int[] width = new int[columns.size()];
        for (List<String> r : text) {
            for (int i = 0; i < r.size(); i++) {
                width[i] = Math.max(width[i], r.get(i).length());
            }
        }
        for (List<String> r : text) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.size(); i++) {
                line.append(r.get(i));
                if (i < r.size() - 1) {
                    line.append(" ".repeat(width[i] - r.get(i).length() + 3));
                }
            }
            out.println(line);
        }
    }

    private static String cell(Object v, Instant now) {
        if (v == null) {
            return NONE;
        }
        return v instanceof Instant t ? Age.since(t, now) : v.toString();
    }

    public boolean isEmpty() {
        return rows.isEmpty();
    }
}
