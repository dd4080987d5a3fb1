package airbricks.spark;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import org.apache.spark.sql.catalyst.analysis.NoSuchNamespaceException;
import org.apache.spark.sql.catalyst.analysis.NoSuchTableException;
import org.apache.spark.sql.catalyst.analysis.NonEmptyNamespaceException;
import org.apache.spark.sql.catalyst.analysis.NamespaceAlreadyExistsException;
import org.apache.spark.sql.catalyst.analysis.TableAlreadyExistsException;
import org.apache.spark.sql.classic.SparkSession;
import org.apache.spark.sql.connector.catalog.Column;
import org.apache.spark.sql.connector.catalog.DelegatingCatalogExtension;
import org.apache.spark.sql.connector.catalog.Identifier;
import org.apache.spark.sql.connector.catalog.NamespaceChange;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableCatalog;
import org.apache.spark.sql.connector.catalog.TableChange;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.internal.SQLConf;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/**
 * A Unity Catalog catalog ({@code main}, {@code hive_metastore}, or another) over Spark's session catalog, i.e.
 * the workspace's shared Hive metastore, so that {@code catalog.schema.table} names resolve as on Databricks.
 *
 * <p>Schemas map onto metastore databases as the workspace's names contract says (the Python side is
 * {@code airbricks.workspace.catalog.names}): in {@code main} and {@code hive_metastore} a schema {@code s}
 * is database {@code s} when it is a plain lowercase name not starting with {@code uc__}, else {@code uc__}
 * followed by the hex of its UTF-8 bytes; in any other catalog {@code c} it is {@code uc__} + hex of
 * {@code c.s}. Listing namespaces decodes database names back and shows only this catalog's.
 */
public class MetastoreCatalog extends DelegatingCatalogExtension {
  private static final Pattern PLAIN = Pattern.compile("^[a-z0-9_]+$");
  private static final Pattern ENCODED = Pattern.compile("^uc__(?:[0-9a-f]{2})+$");
  private static final String PREFIX = "uc__";

  private String catalog = "main";

  @Override
  public void initialize(String name, CaseInsensitiveStringMap options) {
    catalog = name.toLowerCase(Locale.ROOT);
    SparkSession session = (SparkSession) org.apache.spark.sql.SparkSession.active();
    setDelegateCatalog(session.sessionState().catalogManager().v2SessionCatalog());
  }

  /**
   * {@code spark_catalog} for {@code main} and {@code hive_metastore}: Spark runs its own (v1) commands only on
   * a catalog of that name, and those are what the workspace's parquet tables need (partitions tracked in the
   * metastore, {@code SHOW PARTITIONS}, {@code DESCRIBE} as usual). Their schemas are the databases by the same
   * name, so the v1 commands' unmapped identifiers are the right ones. {@code current_catalog()} still answers
   * the catalog's own name ({@link CatalogNames}).
   */
  @Override
  public String name() {
    return direct() ? "spark_catalog" : catalog;
  }

  /** The name this catalog is registered under ({@code main}, {@code hive_metastore}, ...). */
  public String catalogName() {
    return catalog;
  }

  private boolean direct() {
    return catalog.equals("main") || catalog.equals("hive_metastore");
  }

  /** The metastore database of schema {@code schema} of this catalog. */
  public String database(String schema) {
    String s = schema.toLowerCase(Locale.ROOT);
    if (direct()) {
      if (PLAIN.matcher(s).matches() && !s.startsWith(PREFIX)) {
        return s;
      }
      return PREFIX + hex(s);
    }
    return PREFIX + hex(catalog + "." + s);
  }

  /** The schema of this catalog that database {@code database} holds, or null when it is another catalog's. */
  public String schema(String database) {
    String decoded = database;
    if (ENCODED.matcher(database).matches()) {
      decoded = unhex(database.substring(PREFIX.length()));
    }
    int dot = decoded.indexOf('.');
    if (dot < 0) {
      return direct() ? decoded : null;
    }
    return decoded.substring(0, dot).equals(catalog) && !direct() ? decoded.substring(dot + 1) : null;
  }

  private static String hex(String text) {
    StringBuilder out = new StringBuilder();
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      out.append(String.format("%02x", b & 0xff));
    }
    return out.toString();
  }

  private static String unhex(String hex) {
    byte[] bytes = new byte[hex.length() / 2];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private String[] inner(String[] namespace) {
    if (namespace.length != 1) {
      return namespace;
    }
    return new String[] {database(namespace[0])};
  }

  private Identifier inner(Identifier ident) {
    return Identifier.of(inner(ident.namespace()), ident.name());
  }

  @Override
  public String[] defaultNamespace() {
    return new String[] {"default"};
  }

  @Override
  public Identifier[] listTables(String[] namespace) throws NoSuchNamespaceException {
    Identifier[] found = super.listTables(inner(namespace));
    Identifier[] out = new Identifier[found.length];
    for (int i = 0; i < found.length; i++) {
      out[i] = Identifier.of(namespace, found[i].name());
    }
    return out;
  }

  @Override
  public Table loadTable(Identifier ident) throws NoSuchTableException {
    return super.loadTable(inner(ident));
  }

  @Override
  public Table loadTable(Identifier ident, long timestamp) throws NoSuchTableException {
    return super.loadTable(inner(ident), timestamp);
  }

  @Override
  public Table loadTable(Identifier ident, String version) throws NoSuchTableException {
    return super.loadTable(inner(ident), version);
  }

  @Override
  public void invalidateTable(Identifier ident) {
    super.invalidateTable(inner(ident));
  }

  @Override
  public boolean tableExists(Identifier ident) {
    return super.tableExists(inner(ident));
  }

  @Override
  public Table createTable(Identifier ident, Column[] columns, Transform[] partitions, Map<String, String> properties)
      throws TableAlreadyExistsException, NoSuchNamespaceException {
    return super.createTable(inner(ident), columns, partitions, withProvider(properties));
  }

  @Override
  @SuppressWarnings("deprecation")
  public Table createTable(
      Identifier ident, org.apache.spark.sql.types.StructType schema, Transform[] partitions,
      Map<String, String> properties) throws TableAlreadyExistsException, NoSuchNamespaceException {
    return super.createTable(inner(ident), schema, partitions, withProvider(properties));
  }

  /**
   * A table created without {@code USING} is a data source table of Spark's default format (parquet here; Delta
   * on Databricks), as in the session catalog: a Hive serde table could not be read through a catalog plugin.
   */
  private static Map<String, String> withProvider(Map<String, String> properties) {
    Map<String, String> out = new HashMap<>(properties);
    out.remove(TableCatalog.PROP_OWNER);
    if (!out.containsKey(TableCatalog.PROP_PROVIDER)) {
      out.put(TableCatalog.PROP_PROVIDER, SQLConf.get().defaultDataSourceName());
    }
    return out;
  }

  @Override
  public Table alterTable(Identifier ident, TableChange... changes) throws NoSuchTableException {
    return super.alterTable(inner(ident), changes);
  }

  @Override
  public boolean dropTable(Identifier ident) {
    return super.dropTable(inner(ident));
  }

  @Override
  public boolean purgeTable(Identifier ident) {
    return super.purgeTable(inner(ident));
  }

  @Override
  public void renameTable(Identifier from, Identifier to)
      throws NoSuchTableException, TableAlreadyExistsException {
    super.renameTable(inner(from), inner(to));
  }

  @Override
  public String[][] listNamespaces() throws NoSuchNamespaceException {
    List<String[]> out = new ArrayList<>();
    for (String[] ns : super.listNamespaces()) {
      String schema = ns.length == 1 ? schema(ns[0]) : null;
      if (schema != null) {
        out.add(new String[] {schema});
      }
    }
    return out.toArray(new String[0][]);
  }

  @Override
  public String[][] listNamespaces(String[] namespace) throws NoSuchNamespaceException {
    return super.listNamespaces(inner(namespace));
  }

  @Override
  public boolean namespaceExists(String[] namespace) {
    return super.namespaceExists(inner(namespace));
  }

  @Override
  public Map<String, String> loadNamespaceMetadata(String[] namespace) throws NoSuchNamespaceException {
    return super.loadNamespaceMetadata(inner(namespace));
  }

  @Override
  public void createNamespace(String[] namespace, Map<String, String> metadata)
      throws NamespaceAlreadyExistsException {
    super.createNamespace(inner(namespace), metadata);
  }

  @Override
  public void alterNamespace(String[] namespace, NamespaceChange... changes) throws NoSuchNamespaceException {
    super.alterNamespace(inner(namespace), changes);
  }

  @Override
  public boolean dropNamespace(String[] namespace, boolean cascade)
      throws NoSuchNamespaceException, NonEmptyNamespaceException {
    return super.dropNamespace(inner(namespace), cascade);
  }
}
