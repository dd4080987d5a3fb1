package airbricks.spark;

import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.expressions.CurrentCatalog;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.Literal;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.rules.Rule;
import org.apache.spark.sql.classic.SparkSession;
import org.apache.spark.sql.connector.catalog.CatalogPlugin;
import org.apache.spark.sql.types.DataTypes;
import scala.Function1;
import scala.runtime.AbstractFunction1;
import scala.runtime.AbstractPartialFunction;
import scala.runtime.BoxedUnit;

/**
 * {@code spark.sql.extensions}: {@code current_catalog()} answers the Unity Catalog name the session uses
 * ({@code main}, {@code hive_metastore}), where Spark would answer the name its {@link MetastoreCatalog} reports
 * to run v1 commands ({@code spark_catalog}).
 */
public final class CatalogNames extends AbstractFunction1<SparkSessionExtensions, BoxedUnit> {
  @Override
  public BoxedUnit apply(SparkSessionExtensions extensions) {
    extensions.injectResolutionRule(
        new AbstractFunction1<org.apache.spark.sql.SparkSession, Rule<LogicalPlan>>() {
          @Override
          public Rule<LogicalPlan> apply(org.apache.spark.sql.SparkSession session) {
            return new CurrentCatalogName((SparkSession) session);
          }
        });
    return BoxedUnit.UNIT;
  }

  /** Replaces {@code current_catalog()} by the current {@link MetastoreCatalog}'s registered name. */
  static final class CurrentCatalogName extends Rule<LogicalPlan> {
    private final SparkSession session;

    CurrentCatalogName(SparkSession session) {
      this.session = session;
    }

    @Override
    public LogicalPlan apply(LogicalPlan plan) {
      CatalogPlugin current = session.sessionState().catalogManager().currentCatalog();
      if (!(current instanceof MetastoreCatalog)) {
        return plan;
      }
      final Literal name = Literal.create(((MetastoreCatalog) current).catalogName(), DataTypes.StringType);
      return (LogicalPlan) plan.transformAllExpressions(
          new AbstractPartialFunction<Expression, Expression>() {
            @Override
            public boolean isDefinedAt(Expression e) {
              return e instanceof CurrentCatalog;
            }

            @Override
            public <A1 extends Expression, B1> B1 applyOrElse(A1 e, Function1<A1, B1> otherwise) {
              if (e instanceof CurrentCatalog) {
                @SuppressWarnings("unchecked")
                B1 out = (B1) name;
                return out;
              }
              return otherwise.apply(e);
            }
          });
    }
  }
}
