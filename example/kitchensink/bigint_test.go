package kitchensink_test

import "math/big"

func bigInt(v int64) *big.Int { return big.NewInt(v) }
