// The communicator. Run plainly it is one rank; ctest also runs it under mpirun with 3 ranks
// (tests/CMakeLists.txt), where the same checks cross real processes.
#include <catch2/catch.hpp>

#include "comm/registry.h"

TEST_CASE("world communicator: all-gather returns every rank's bytes in rank order", "[comm]") {
  auto world = saturn::GetWorld();
  REQUIRE(world.ok());
  saturn::Communicator& c = *(*world)->control;
  REQUIRE(c.rank() >= 0);
  REQUIRE(c.rank() < c.size());
  // Different sizes per rank, including empty, and bytes that are not text.
  std::string mine(size_t(c.rank()) * 1000, char(c.rank() + 1));
  if (c.rank() == 1) mine.push_back('\0');
  auto all = c.AllGather(mine);
  REQUIRE(all.ok());
  REQUIRE(int(all->size()) == c.size());
  for (int r = 0; r < c.size(); ++r) {
    std::string want(size_t(r) * 1000, char(r + 1));
    if (r == 1) want.push_back('\0');
    CHECK((*all)[size_t(r)] == want);
  }
  REQUIRE(c.Barrier().ok());
  if (std::getenv("OMPI_COMM_WORLD_SIZE")) CHECK(c.backend() == "MPI");
}

TEST_CASE("single-process communicator", "[comm]") {
  auto c = saturn::MakeSingleProcessCommunicator();
  CHECK(c->rank() == 0);
  CHECK(c->size() == 1);
  auto all = c->AllGather("x");
  REQUIRE(all.ok());
  CHECK(*all == std::vector<std::string>{"x"});
}
