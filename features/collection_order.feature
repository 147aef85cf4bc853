Feature: Finished features are handed to behave's formatters in collection order, held within a bound

  Workers finish features in any order (longest first, several at once), but behave's formatters
  must write them in the order plain behave runs them. The parent holds what arrives early until
  every earlier feature is complete; at most a fixed number of bytes of it stays in memory, the
  rest waits in one private temporary file. These properties are checked with Hypothesis over
  random suites, split into random tasks, finishing in random orders with random record sizes.

  Scenario: whatever order tasks finish in, features come out whole, in collection order, memory bounded
    Then for any suite and any finishing order, features are released in collection order with every piece intact
    And for any finishing order, the bytes held in memory never exceed the limit and the rest waits on disk

  Scenario: features whose tasks never come are released with what arrived, still in order
    Then for any suite where some tasks never finish, every feature is released once, in order, with the pieces that came
