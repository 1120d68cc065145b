// What a JDBC BI tool sees of pix_fdw (pgjdbc, Debian's libpostgresql-jdbc-java): run with
//   java -cp /usr/share/java/postgresql.jar test/bi/JdbcCheck.java URL DAY VALUES
// where VALUES is the day's valor column as PostgreSQL prints it, in order, comma separated.
// Prints one "ok - ..." / "not ok - ..." line per check (test/integration/bi_clients.sh).
import java.math.BigDecimal;
import java.sql.*;
import java.util.*;

public class JdbcCheck {
	static int failed = 0;

	static void check(String name, boolean ok) {
		System.out.println((ok ? "ok - " : "not ok - ") + "jdbc: " + name);
		if (!ok)
			failed++;
	}

	static final List<String> TABLES = List.of("cobrancas", "extrato", "pix", "pix_enviados", "saldo");

	static List<String> tables(DatabaseMetaData md, String schema, String[] types) throws SQLException {
		List<String> out = new ArrayList<>();
		try (ResultSet rs = md.getTables(null, schema, "%", types)) {
			while (rs.next())
				out.add(rs.getString("TABLE_NAME") + ":" + rs.getString("TABLE_TYPE") + ":"
				        + (rs.getString("REMARKS") != null && !rs.getString("REMARKS").isEmpty()));
		}
		Collections.sort(out);
		return out;
	}

	// The java.sql.Types pgjdbc must report for each PostgreSQL type pix_fdw's tables use.
	static boolean typeOk(String pgType, int jdbcType) {
		switch (pgType) {
		case "numeric": return jdbcType == Types.NUMERIC;
		case "timestamptz": return jdbcType == Types.TIMESTAMP || jdbcType == Types.TIMESTAMP_WITH_TIMEZONE;
		case "date": return jdbcType == Types.DATE;
		case "jsonb": return jdbcType == Types.OTHER;
		case "uuid": return jdbcType == Types.OTHER;
		case "text": return jdbcType == Types.VARCHAR;
		case "int4": return jdbcType == Types.INTEGER;
		default: return false;
		}
	}

	public static void main(String[] args) throws Exception {
		String url = args[0];
		String day = args[1];
		List<String> expectValues = Arrays.asList(args[2].split(","));
		try (Connection c = DriverManager.getConnection(url)) {
			DatabaseMetaData md = c.getMetaData();
			System.out.println("# " + md.getDriverName() + " " + md.getDriverVersion() + ", "
			                   + md.getDatabaseProductName() + " " + md.getDatabaseProductVersion());

			// Table types: foreign tables are their own type; TABLE/VIEW lists none of them.
			List<String> types = new ArrayList<>();
			try (ResultSet rs = md.getTableTypes()) {
				while (rs.next())
					types.add(rs.getString(1));
			}
			check("getTableTypes() offers FOREIGN TABLE " + types, types.contains("FOREIGN TABLE"));
			List<String> foreign = tables(md, "inter", new String[] {"FOREIGN TABLE"});
			List<String> want = new ArrayList<>();
			for (String t : TABLES)
				want.add(t + ":FOREIGN TABLE:true");
			check("getTables(inter, {FOREIGN TABLE}) lists the five imported tables with remarks " + foreign,
			      foreign.equals(want));
			List<String> plain = tables(md, "inter", new String[] {"TABLE", "VIEW"});
			check("getTables(inter, {TABLE, VIEW}) lists none of them (pgjdbc's table types) " + plain, plain.isEmpty());
			List<String> all = tables(md, "inter", null);
			check("getTables(inter, null) (every type) lists them " + all, all.equals(want));

			// The remedy: views over the foreign tables in a schema the tool reads (made by the script).
			List<String> views = tables(md, "bi", new String[] {"TABLE", "VIEW"});
			List<String> wantViews = new ArrayList<>();
			for (String t : TABLES)
				wantViews.add(t + ":VIEW:true");
			check("getTables(bi, {TABLE, VIEW}) lists the views over them, with remarks " + views,
			      views.equals(wantViews));

			// Columns: every column, its JDBC type, and REMARKS = the import's comment.
			Map<String, String> comment = new HashMap<>();
			Map<String, String> pgType = new HashMap<>();
			try (Statement s = c.createStatement();
			     ResultSet rs = s.executeQuery(
			         "SELECT c.relname || '.' || a.attname, t.typname, col_description(c.oid, a.attnum) "
			         + "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
			         + "JOIN pg_type t ON t.oid = a.atttypid "
			         + "WHERE c.relnamespace = 'inter'::regnamespace AND c.relkind = 'f'")) {
				while (rs.next()) {
					pgType.put(rs.getString(1), rs.getString(2));
					comment.put(rs.getString(1), rs.getString(3));
				}
			}
			for (String schema : List.of("inter", "bi")) {
				int n = 0, typed = 0, remarked = 0;
				Map<String, Integer> seen = new TreeMap<>();
				List<String> bad = new ArrayList<>();
				try (ResultSet rs = md.getColumns(null, schema, "%", "%")) {
					while (rs.next()) {
						String key = rs.getString("TABLE_NAME") + "." + rs.getString("COLUMN_NAME");
						if (!TABLES.contains(rs.getString("TABLE_NAME")))
							continue;
						n++;
						String tn = rs.getString("TYPE_NAME");
						int dt = rs.getInt("DATA_TYPE");
						seen.put(tn, dt);
						if (tn.equals(pgType.get(key)) && typeOk(tn, dt))
							typed++;
						else
							bad.add(key + " " + tn + "/" + dt);
						String remarks = rs.getString("REMARKS");
						if (remarks != null && !remarks.isEmpty() && remarks.equals(comment.get(key)))
							remarked++;
						else
							bad.add(key + " remarks=" + remarks);
					}
				}
				check("getColumns(" + schema + "): " + n + " columns of " + pgType.size() + ", types " + seen,
				      n == pgType.size() && typed == n);
				check("getColumns(" + schema + "): REMARKS is the import's comment on all " + remarked + " of " + n
				          + " columns " + bad,
				      n > 0 && remarked == n);
			}

			// A sampling query with a java.sql.Date parameter; numeric comes back as BigDecimal
			// with the bank's digits.
			List<String> got = new ArrayList<>();
			boolean allBig = true;
			try (PreparedStatement ps = c.prepareStatement(
			         "SELECT * FROM inter.extrato WHERE data_transacao = ? ORDER BY valor LIMIT 10")) {
				ps.setDate(1, java.sql.Date.valueOf(day));
				try (ResultSet rs = ps.executeQuery()) {
					ResultSetMetaData rmd = rs.getMetaData();
					int col = rs.findColumn("valor");
					check("the result's valor is NUMERIC / java.math.BigDecimal ("
					          + rmd.getColumnType(col) + ", " + rmd.getColumnClassName(col) + ")",
					      rmd.getColumnType(col) == Types.NUMERIC
					          && rmd.getColumnClassName(col).equals("java.math.BigDecimal"));
					while (rs.next()) {
						Object o = rs.getObject("valor");
						allBig &= o instanceof BigDecimal;
						got.add(rs.getBigDecimal("valor").toPlainString());
						allBig &= rs.getDate("data_transacao").toString().equals(day);
					}
				}
			}
			check("SELECT * FROM inter.extrato WHERE data_transacao = ? (java.sql.Date " + day
			          + ") LIMIT 10: BigDecimals with the bank's digits " + got + " = " + expectValues,
			      allBig && got.equals(expectValues));
		}
		System.exit(failed == 0 ? 0 : 1);
	}
}
