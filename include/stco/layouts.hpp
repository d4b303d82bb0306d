// stco/layouts.hpp — module header: every TIE layout, sparse_matrix, prune / encode / decode.
#pragma once

#include "stco/core.hpp"
#include "stco/layout/block.hpp"
#include "stco/layout/channel.hpp"
#include "stco/layout/csr.hpp"
#include "stco/layout/decode.hpp"
#include "stco/layout/dense.hpp"
#include "stco/layout/encode.hpp"
#include "stco/layout/gather.hpp"
#include "stco/layout/index_entity.hpp"
#include "stco/layout/layout_contract.hpp"
#include "stco/layout/nm.hpp"
#include "stco/layout/prune.hpp"
#include "stco/layout/sparse_matrix.hpp"
#include "stco/layout/tile_vector.hpp"
#include "stco/layout/tile_wise.hpp"
