// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721URIStorage} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721URIStorage.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title IdentityRegistry
/// @notice An ERC-8004 identity registry for local chains, written from the ERC text: agents are
/// ERC-721 tokens with URI storage (agentId = tokenId, starting at 0; agentURI = tokenURI), with
/// key/value metadata whose reserved key `agentWallet` is set to the owner on registration, changed
/// only with a signature from the new wallet, and cleared on transfer. Not upgradeable; real chains
/// have their own deployments.
contract IdentityRegistry is ERC721URIStorage, EIP712 {
    struct MetadataEntry {
        string metadataKey;
        bytes metadataValue;
    }

    bytes32 private constant AGENT_WALLET_SET_TYPEHASH =
        keccak256("AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)");
    string private constant AGENT_WALLET = "agentWallet";

    uint256 private _lastId;
    mapping(uint256 agentId => mapping(string key => bytes value)) private _metadata;

    event Registered(uint256 indexed agentId, string agentURI, address indexed owner);
    event MetadataSet(
        uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue
    );
    event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy);

    constructor() ERC721("AgentIdentity", "AGENT") EIP712("ERC8004IdentityRegistry", "1") {}

    function getVersion() external pure returns (string memory) {
        return "2.0.0";
    }

    function register() external returns (uint256 agentId) {
        return _register("", new MetadataEntry[](0));
    }

    function register(string calldata agentURI) external returns (uint256 agentId) {
        return _register(agentURI, new MetadataEntry[](0));
    }

    function register(string calldata agentURI, MetadataEntry[] calldata metadata) external returns (uint256 agentId) {
        return _register(agentURI, metadata);
    }

    function setAgentURI(uint256 agentId, string calldata newURI) external {
        require(isAuthorizedOrOwner(msg.sender, agentId), "Not authorized");
        _setTokenURI(agentId, newURI);
        emit URIUpdated(agentId, newURI, msg.sender);
    }

    function getMetadata(uint256 agentId, string calldata metadataKey) external view returns (bytes memory) {
        return _metadata[agentId][metadataKey];
    }

    function setMetadata(uint256 agentId, string calldata metadataKey, bytes calldata metadataValue) external {
        require(isAuthorizedOrOwner(msg.sender, agentId), "Not authorized");
        require(!_isReserved(metadataKey), "reserved key");
        _setMetadata(agentId, metadataKey, metadataValue);
    }

    function getAgentWallet(uint256 agentId) external view returns (address) {
        bytes memory value = _metadata[agentId][AGENT_WALLET];
        return value.length == 0 ? address(0) : abi.decode(value, (address));
    }

    function setAgentWallet(uint256 agentId, address newWallet, uint256 deadline, bytes calldata signature) external {
        require(isAuthorizedOrOwner(msg.sender, agentId), "Not authorized");
        require(newWallet != address(0), "zero wallet");
        require(block.timestamp <= deadline, "expired");
        require(deadline <= block.timestamp + 5 minutes, "deadline too far");
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(AGENT_WALLET_SET_TYPEHASH, agentId, newWallet, _ownerOf(agentId), deadline))
        );
        require(SignatureChecker.isValidSignatureNow(newWallet, digest, signature), "invalid wallet signature");
        _setMetadata(agentId, AGENT_WALLET, abi.encode(newWallet));
    }

    function unsetAgentWallet(uint256 agentId) external {
        require(isAuthorizedOrOwner(msg.sender, agentId), "Not authorized");
        _setMetadata(agentId, AGENT_WALLET, "");
    }

    function isAuthorizedOrOwner(address spender, uint256 agentId) public view returns (bool) {
        address owner = _ownerOf(agentId);
        require(owner != address(0), "Unknown agent");
        return _isAuthorized(owner, spender, agentId);
    }

    function _register(string memory agentURI, MetadataEntry[] memory metadata) private returns (uint256 agentId) {
        agentId = _lastId++;
        _safeMint(msg.sender, agentId);
        _setTokenURI(agentId, agentURI);
        emit Registered(agentId, agentURI, msg.sender);
        _setMetadata(agentId, AGENT_WALLET, abi.encode(msg.sender));
        for (uint256 i = 0; i < metadata.length; i++) {
            require(!_isReserved(metadata[i].metadataKey), "reserved key");
            _setMetadata(agentId, metadata[i].metadataKey, metadata[i].metadataValue);
        }
    }

    function _setMetadata(uint256 agentId, string memory key, bytes memory value) private {
        _metadata[agentId][key] = value;
        emit MetadataSet(agentId, key, key, value);
    }

    function _isReserved(string memory key) private pure returns (bool) {
        return keccak256(bytes(key)) == keccak256(bytes(AGENT_WALLET));
    }

    /// @dev A transfer (not a mint or burn) clears the agent wallet: the new owner proves its own.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0) && to != address(0) && _metadata[tokenId][AGENT_WALLET].length != 0) {
            _setMetadata(tokenId, AGENT_WALLET, "");
        }
    }
}
