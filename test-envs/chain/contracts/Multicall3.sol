// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Multicall3
/// @notice Multicall3's batch calls (`aggregate3` for viem, `tryAggregate` for the x402
/// facilitator's failure diagnosis) at its well-known address
/// (0xcA11bde05977b3631167028862bE2a173976CA11), written for our local chain and placed there with
/// `anvil_setCode`, so clients batch reads and failures report their own reasons. Only the calls
/// and read helpers clients use are here.
contract Multicall3 {
    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    struct Call {
        address target;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    /// @notice Calls each target in order; a failing call with allowFailure false reverts the
    /// batch with that call's own revert data.
    function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory results) {
        results = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; i++) {
            (bool success, bytes memory data) = calls[i].target.call(calls[i].callData);
            if (!success && !calls[i].allowFailure) {
                assembly {
                    revert(add(data, 32), mload(data))
                }
            }
            results[i] = Result(success, data);
        }
    }

    /// @notice Calls each target in order; with requireSuccess, a failing call reverts the batch.
    function tryAggregate(bool requireSuccess, Call[] calldata calls) public payable returns (Result[] memory results) {
        results = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; i++) {
            (bool success, bytes memory data) = calls[i].target.call(calls[i].callData);
            if (requireSuccess) require(success, "Multicall3: call failed");
            results[i] = Result(success, data);
        }
    }

    function getEthBalance(address account) external view returns (uint256) {
        return account.balance;
    }

    function getBlockNumber() external view returns (uint256) {
        return block.number;
    }

    function getCurrentBlockTimestamp() external view returns (uint256) {
        return block.timestamp;
    }

    function getChainId() external view returns (uint256) {
        return block.chainid;
    }
}
