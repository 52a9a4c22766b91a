#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

namespace pgoutbox {
namespace {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, ErrorsCarryCodeAndMessage) {
  struct Case {
    Status status;
    Status::Code code;
    const char* text;
  };
  const Case cases[] = {
      {Status::InvalidArgument("m"), Status::Code::kInvalidArgument, "invalid argument: m"},
      {Status::NotFound("m"), Status::Code::kNotFound, "not found: m"},
      {Status::FailedPrecondition("m"), Status::Code::kFailedPrecondition,
       "failed precondition: m"},
      {Status::Corruption("m"), Status::Code::kCorruption, "corruption: m"},
      {Status::Unavailable("m"), Status::Code::kUnavailable, "unavailable: m"},
      {Status::Aborted("m"), Status::Code::kAborted, "aborted: m"},
      {Status::Internal("m"), Status::Code::kInternal, "internal error: m"},
      {Status::Cancelled("m"), Status::Code::kCancelled, "cancelled: m"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.status.ok()) << c.text;
    EXPECT_EQ(c.status.code(), c.code) << c.text;
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(c.status.ToString(), c.text);
  }
  EXPECT_STREQ(CodeName(Status::Code::kOk), "OK");
}

TEST(StatusTest, WithContext) {
  Status s = Status::NotFound("table public.outbox has no column aggregate_id");
  Status wrapped = s.WithContext("loading column map");
  EXPECT_EQ(wrapped.code(), Status::Code::kNotFound);
  EXPECT_EQ(wrapped.message(),
            "loading column map: table public.outbox has no column aggregate_id");
  EXPECT_EQ(s.message(), "table public.outbox has no column aggregate_id");  // unchanged
  EXPECT_TRUE(Status::Ok().WithContext("anything").ok());
  EXPECT_EQ(Status::Ok().WithContext("anything").message(), "");
}

TEST(ResultTest, HoldsValueOrError) {
  Result<int> good(42);
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good.status().ok());
  EXPECT_EQ(good.value(), 42);
  EXPECT_EQ(*good, 42);

  Result<int> bad(Status::Unavailable("broker down"));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(bad.status().message(), "broker down");
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<std::string>> r(std::make_unique<std::string>("x"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->get(), "x");
  std::unique_ptr<std::string> taken = std::move(r).value();
  EXPECT_EQ(*taken, "x");
}

Status FailsWhen(bool fail) { return fail ? Status::Aborted("step failed") : Status::Ok(); }

Status Chain(bool fail_first, int* reached) {
  RETURN_IF_ERROR(FailsWhen(fail_first));
  *reached = 1;
  RETURN_IF_ERROR(FailsWhen(false));
  *reached = 2;
  return Status::Ok();
}

Result<int> Parse(bool fail) {
  if (fail) return Status::InvalidArgument("not a number");
  return 7;
}

Result<int> Doubled(bool fail) {
  ASSIGN_OR_RETURN(int v, Parse(fail));
  ASSIGN_OR_RETURN(int w, Parse(false));  // two in one scope must not clash
  return v + w;
}

TEST(StatusMacrosTest, ReturnIfError) {
  int reached = 0;
  EXPECT_EQ(Chain(true, &reached).message(), "step failed");
  EXPECT_EQ(reached, 0);
  EXPECT_TRUE(Chain(false, &reached).ok());
  EXPECT_EQ(reached, 2);
}

TEST(StatusMacrosTest, AssignOrReturn) {
  Result<int> ok = Doubled(false);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 14);
  Result<int> bad = Doubled(true);
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "not a number");
}

}  // namespace
}  // namespace pgoutbox
