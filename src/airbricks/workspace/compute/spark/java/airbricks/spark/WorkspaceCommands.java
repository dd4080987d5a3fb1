package airbricks.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.internal.config.ConfigEntry$;
import org.apache.spark.sql.classic.SparkSession;
import org.apache.spark.sql.connect.plugin.CommandPlugin;
import org.apache.spark.sql.connect.planner.SparkConnectPlanner;
import org.apache.spark.sql.connect.service.SessionHolderInfo;
import org.apache.spark.sql.connect.service.SparkConnectService$;
import org.apache.spark.sql.connect.service.SparkConnectSessionManager;
import org.apache.spark.sql.internal.SQLConf$;
import org.sparkproject.connect.protobuf.Any;
import scala.jdk.javaapi.CollectionConverters;

/**
 * {@code spark.connect.extensions.command.classes}: what the workspace asks of a running driver that no Spark
 * Connect call does. An instance pool hands a warm driver to a cluster, and the cluster's runtime Spark settings
 * must then become every new session's defaults, as if the driver had started with them; a driver that goes back
 * to its pool must forget its cluster (sessions, cached tables, global temp views, settings).
 *
 * <p>One command, {@code type.googleapis.com/airbricks.DriverSettings}, a JSON body {@code {"set": {key: value},
 * "unset": [key], "recycle": bool}}. Settings change the shared defaults new sessions are built from ({@code
 * sharedState().conf()}). A key Spark fixes at a JVM's start (a static SQL setting, a Spark core setting, Hadoop's)
 * refuses the whole command, changing nothing, with {@link #NEEDS_NEW_JVM} and the keys (never the values: they
 * may be resolved secrets).
 */
public final class WorkspaceCommands implements CommandPlugin {
  static final String TYPE_URL = "type.googleapis.com/airbricks.DriverSettings";
  static final String NEEDS_NEW_JVM = "AIRBRICKS_NEEDS_NEW_JVM";
  private static final String[] JVM_PREFIXES = {
    "spark.master", "spark.driver.", "spark.executor.", "spark.executorEnv.", "spark.hadoop.", "spark.jars",
    "spark.files", "spark.submit.", "spark.connect.", "spark.ui.", "spark.archives", "spark.pyFiles",
  };

  @Override
  public boolean process(byte[] command, SparkConnectPlanner planner) {
    Any any;
    JsonNode body;
    try {
      any = Any.parseFrom(command);
      if (!TYPE_URL.equals(any.getTypeUrl())) {
        return false;
      }
      body = new ObjectMapper().readTree(any.getValue().toByteArray());
    } catch (IOException e) {
      throw new IllegalArgumentException("airbricks.DriverSettings: unreadable body", e);
    }
    List<String> fixed = new ArrayList<>();
    for (String key : keys(body)) {
      if (needsNewJvm(key)) {
        fixed.add(key);
      }
    }
    if (!fixed.isEmpty()) {
      throw new IllegalArgumentException(NEEDS_NEW_JVM + ": " + String.join(",", fixed));
    }
    SparkSession session = planner.session();
    if (body.path("recycle").asBoolean(false)) {
      recycle(session, planner.sessionHolder().sessionId());
    }
    SparkConf defaults = session.sharedState().conf();
    for (Map.Entry<String, JsonNode> entry : body.path("set").properties()) {
      defaults.set(entry.getKey(), entry.getValue().asText());
    }
    for (JsonNode key : body.path("unset")) {
      defaults.remove(key.asText());
    }
    return true;
  }

  private static List<String> keys(JsonNode body) {
    List<String> keys = new ArrayList<>();
    body.path("set").properties().forEach(entry -> keys.add(entry.getKey()));
    body.path("unset").forEach(key -> keys.add(key.asText()));
    return keys;
  }

  /** Spark's own rule for {@code SET key=value} in a session, plus the prefixes read only at a JVM's start. */
  static boolean needsNewJvm(String key) {
    for (String prefix : JVM_PREFIXES) {
      if (key.startsWith(prefix)) {
        return true;
      }
    }
    if (SQLConf$.MODULE$.isStaticConfigKey(key)) {
      return true;
    }
    return ConfigEntry$.MODULE$.findEntry(key) != null && !SQLConf$.MODULE$.containsConfigKey(key);
  }

  /** Forget the last cluster: its sessions (their temp views, artifacts and streams), jobs, cache, global views. */
  private static void recycle(SparkSession session, String keep) {
    SparkConnectSessionManager sessions = SparkConnectService$.MODULE$.sessionManager();
    for (SessionHolderInfo info : CollectionConverters.asJava(sessions.listActiveSessions())) {
      if (!info.sessionId().equals(keep)) {
        sessions.closeSession(info.key(), false);
      }
    }
    session.sparkContext().cancelAllJobs();
    session.sharedState().cacheManager().clearCache();
    session.sharedState().globalTempViewManager().clear();
  }
}
