// MakeMapper: one mapper for every outbox table of a selection, each table
// checked with its own columns; the optional headers and topic columns are
// optional per table unless the user named them.
#include "app/mapping.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "outbox/pg_types.h"

namespace pgoutbox::app {
namespace {

namespace pg_type = outbox::pg_type;

pg::TableSelection Tenants() {
  auto selection = pg::TableSelection::Parse({"tenant_*.outbox"});
  EXPECT_TRUE(selection.ok()) << selection.status().ToString();
  return selection.ok() ? *selection : pg::TableSelection();
}

// With headers, topic and a jsonb payload.
OutboxTable Canonical(const std::string& schema) {
  return {{schema, "outbox"},
          {{"id", pg_type::kUuid},
           {"aggregate_type", pg_type::kText},
           {"aggregate_id", pg_type::kText},
           {"event_type", pg_type::kText},
           {"topic", pg_type::kText},
           {"payload", pg_type::kJsonb},
           {"headers", pg_type::kJsonb}}};
}

// Without headers or topic, a bytea payload, the columns in another order.
OutboxTable Bare(const std::string& schema) {
  return {{schema, "outbox"},
          {{"payload", pg_type::kBytea},
           {"event_type", pg_type::kText},
           {"aggregate_id", pg_type::kText},
           {"id", pg_type::kInt8},
           {"aggregate_type", pg_type::kText}}};
}

TEST(MakeMapperTest, TablesOfTwoLayoutsShareOneMapper) {
  MappingConfig config;
  auto mapper = MakeMapper(config, Tenants(), {Canonical("tenant_a"), Bare("tenant_b")});
  ASSERT_TRUE(mapper.ok()) << mapper.status().ToString();
  EXPECT_TRUE((*mapper)->options().tables.Matches(pg::TableName{"tenant_c", "outbox"}));
}

TEST(MakeMapperTest, ANamedOptionalColumnIsRequiredOfEveryTable) {
  MappingConfig config;
  config.headers_column_explicit = true;
  auto mapper = MakeMapper(config, Tenants(), {Canonical("tenant_a"), Bare("tenant_b")});
  ASSERT_FALSE(mapper.ok());
  EXPECT_EQ(mapper.status().code(), Status::Code::kNotFound);
  EXPECT_NE(mapper.status().message().find(
                "table tenant_b.outbox has no column \"headers\" (mapped by --column-headers)"),
            std::string::npos)
      << mapper.status().message();
}

TEST(MakeMapperTest, TheFirstTableThatDoesNotFitIsNamed) {
  MappingConfig config;
  OutboxTable broken = Bare("tenant_c");
  broken.columns[0].type_oid = pg_type::kInt4;  // payload
  auto mapper = MakeMapper(config, Tenants(), {Canonical("tenant_a"), broken});
  ASSERT_FALSE(mapper.ok());
  EXPECT_EQ(mapper.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(mapper.status().message().find("column tenant_c.outbox.payload has type oid 23"),
            std::string::npos)
      << mapper.status().message();
}

TEST(MakeMapperTest, APlaceholderNoTableHasIsAUsageError) {
  MappingConfig config;
  config.topic_template = "{schema}.{region}";
  auto mapper = MakeMapper(config, Tenants(), {Bare("tenant_b")});
  ASSERT_FALSE(mapper.ok());
  EXPECT_EQ(mapper.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(mapper.status().message().find("placeholder {region}"), std::string::npos)
      << mapper.status().message();
}

}  // namespace
}  // namespace pgoutbox::app
